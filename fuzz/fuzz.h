/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz.h: the libFuzzer entry point every target under fuzz/ defines.
 * Each target feeds DATA to one parser of outside input; a crash, a leak,
 * undefined behaviour or a GLib critical is a finding. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_str: DATA as a new NUL-terminated string (an embedded NUL ends it,
 * as it would end a file read with kv_ctx_read). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	return g_strndup((const char *)data, size);
}
