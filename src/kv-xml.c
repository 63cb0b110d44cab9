/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kv-xml: bounded XML parsing.  See kv-xml.h.
 */
#include "kv-xml.h"
#include "kv-ctx.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

/* Stop at the first entity declaration: the parse fails with
 * XML_ERR_USER_STOP, which nothing else raises. */
static void
refuse_entity(xmlParserCtxtPtr ctxt)
{
	xmlStopParser(ctxt);
}

static void
on_entity_decl(void *user, const xmlChar *name, int type, const xmlChar *public_id, const xmlChar *system_id,
	       xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	refuse_entity(user);
}

static void
on_unparsed_entity_decl(void *user, const xmlChar *name, const xmlChar *public_id, const xmlChar *system_id,
			const xmlChar *notation)
{
	(void)name;
	(void)public_id;
	(void)system_id;
	(void)notation;
	refuse_entity(user);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlParserCtxt, xmlFreeParserCtxt)

xmlDoc *
kv_xml_parse(const char *buf, gsize len, GError **error)
{
	if (len > KV_XML_MAX_BYTES) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE,
			    "is refused: %" G_GSIZE_FORMAT " bytes, over the limit of %u MiB", len,
			    KV_XML_MAX_BYTES >> 20);
		return NULL;
	}
	g_autoptr(xmlParserCtxt) ctxt = xmlNewParserCtxt();
	if (ctxt == NULL || ctxt->sax == NULL) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "does not parse: out of memory");
		return NULL;
	}
	ctxt->sax->entityDecl = on_entity_decl;
	ctxt->sax->unparsedEntityDecl = on_unparsed_entity_decl;
	/* Deliberately absent: XML_PARSE_HUGE (lifts the depth, length and
	 * entity amplification limits), XML_PARSE_NOENT (substitutes
	 * entities), XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR, XML_PARSE_XINCLUDE. */
	g_autoptr(xmlDoc) doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "domain.xml", NULL,
						  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (ctxt->errNo == XML_ERR_USER_STOP) {
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "is refused: its DOCTYPE declares entities");
		return NULL;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		const xmlError *e = &ctxt->lastError;
		g_autofree gchar *msg = g_strstrip(g_strdup(e->message ? e->message : "unknown error"));
		g_set_error(error, KV_ERROR, KV_ERROR_PARSE, "does not parse: line %d: %s", e->line, msg);
		return NULL;
	}
	return g_steal_pointer(&doc);
}
