/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-disks-xml: the disk images of a domain's XML as libvirt returns it
 * (kv_domain_disks_from_xml), for guest inspection. */
#include "fuzz.h"
#include "kv-hv.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) err = NULL;
	g_auto(GStrv) disks = kv_domain_disks_from_xml((const char *)data, size, &err);

	(void)disks;
	return 0;
}
