/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-numbers: the number and line primitives of kv-parse.c that every
 * /proc and /sys parser builds on (decimal, signed, hex, QEMU sizes, keyed
 * lines). */
#include "fuzz.h"
#include "kv-parse.h"

typedef struct {
	guint64 a, b, c;
} Fields;

static const KvField fields[] = {
	{ "MemTotal", G_STRUCT_OFFSET(Fields, a), 0 },
	{ "pswpin", G_STRUCT_OFFSET(Fields, b), 1 },
	{ "Node 0 MemFree", G_STRUCT_OFFSET(Fields, c), 2 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *buf = fuzz_str(data, size);
	const char *end;
	guint64 u;
	gint64 i;
	Fields f = { 0 };
	guint64 have = 0;

	(void)kv_parse_u64(buf, &u, &end);
	(void)kv_parse_i64(buf, &i, &end);
	(void)kv_parse_hex_u64(buf, &u);
	(void)kv_parse_size(buf, 'M', &u);
	(void)kv_parse_size(buf, 'B', &u);
	(void)kv_parse_keyed_lines(buf, fields, G_N_ELEMENTS(fields), &f, &have);
	return 0;
}
