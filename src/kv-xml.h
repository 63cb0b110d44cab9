/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-xml: the one way ksmvirt parses XML it did not write (domain XML from
 * the hook's standard input and from libvirt).
 *
 * Bounded: at most KV_XML_MAX_BYTES of input; libxml2's own limits on
 * nesting depth, name and text length hold (no XML_PARSE_HUGE); no network,
 * no DTD loading, no entity substitution; and a document whose DOCTYPE
 * declares any entity is refused as the declaration is read, so no
 * reference can be expanded later either (xmlNodeGetContent() and
 * xmlGetProp() would expand one).  libvirt never writes a DOCTYPE.
 */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

/* 16 MiB: a domain XML is usually a few KiB. */
#define KV_XML_MAX_BYTES (16u << 20)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

/* Parse len bytes of buf (need not be NUL-terminated).  Returns the
 * document, or NULL with error set (KV_ERROR, KV_ERROR_PARSE) and a message
 * that reads after the name of what was parsed: "does not parse: line 3:
 * ...", "is refused: its DOCTYPE declares entities", "is refused: N bytes,
 * over the limit of 16 MiB". */
xmlDoc *kv_xml_parse(const char *buf, gsize len, GError **error);

G_END_DECLS
