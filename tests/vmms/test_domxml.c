/* Unit tests for vmms' domain XML parser, validator and canonical output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "domxml.h"

#define HEAD "<domain type='linhv'><name>vm1</name>"
#define OS "<os><type>hvm</type><kernel>/boot/vmlinuz</kernel></os>"
#define MEM "<memory unit='MiB'>512</memory>"

static struct dom_def *parse(const char *xml, struct vmms_err *err)
{
	memset(err, 0, sizeof(*err));
	return dom_def_parse(xml, err);
}

START_TEST(minimal_gets_defaults)
{
	struct vmms_err err;
	struct dom_def *d = parse(HEAD MEM OS "</domain>", &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert_str_eq(d->name, "vm1");
	ck_assert_uint_eq(d->memory_kib, 512 * 1024);
	ck_assert_uint_eq(d->vcpus, 1);
	ck_assert_int_eq(d->on_reboot, ACT_RESTART);
	ck_assert_int_eq(d->on_crash, ACT_DESTROY);
	/* a version 4 uuid was generated */
	ck_assert_int_eq(d->uuid[6] >> 4, 4);
	dom_def_free(d);
}
END_TEST

START_TEST(memory_units)
{
	static const struct {
		const char *xml;
		unsigned long long kib;
	} cases[] = {
	    {"<memory>1048576</memory>", 1048576},
	    {"<memory unit='KiB'>65536</memory>", 65536},
	    {"<memory unit='G'>1</memory>", 1048576},
	    {"<memory unit='GB'>1</memory>", 976563},
	    {"<memory unit='bytes'>33554432</memory>", 32768},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char xml[512];
		snprintf(xml, sizeof(xml), HEAD "%s" OS "</domain>", cases[i].xml);
		struct vmms_err err;
		struct dom_def *d = parse(xml, &err);
		ck_assert_msg(d, "%s: %s", cases[i].xml, err.msg);
		ck_assert_uint_eq(d->memory_kib, cases[i].kib);
		dom_def_free(d);
	}
}
END_TEST

START_TEST(full_roundtrip_is_stable)
{
	const char *xml =
	    "<domain type='linhv'><name>web-1</name>"
	    "<uuid>6b1f1d2c-3a4b-4c5d-8e9f-0a1b2c3d4e5f</uuid><title>t &amp; x</title>"
	    "<memory unit='GiB'>2</memory><currentMemory unit='MiB'>2048</currentMemory>"
	    "<vcpu placement='static'>4</vcpu>"
	    "<os><type arch='x86_64'>hvm</type><kernel>/k</kernel><initrd>/i</initrd>"
	    "<cmdline>console=ttyS0 root=/dev/sda</cmdline></os>"
	    "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
	    "<on_crash>preserve</on_crash><devices>"
	    "<disk type='file' device='disk'><driver name='x' type='raw'/>"
	    "<source file='/img/a.raw'/><target dev='sda' bus='scsi'/><readonly/></disk>"
	    "<interface type='bridge'><mac address='52:54:00:AA:bb:cc'/>"
	    "<source bridge='br0'/></interface>"
	    "<interface type='ethernet'><target dev='tap7'/><model type='netvsc'/></interface>"
	    "<serial type='pty'><target port='0'/></serial></devices></domain>";
	struct vmms_err err;
	struct dom_def *d = parse(xml, &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert_uint_eq(d->ndisks, 1);
	ck_assert(d->disks[0].readonly);
	ck_assert_uint_eq(d->nnics, 2);
	ck_assert_str_eq(d->nics[0].mac, "52:54:00:aa:bb:cc");
	ck_assert_str_eq(d->nics[1].tap, "tap7");
	ck_assert_int_eq(strncmp(d->nics[1].mac, "00:15:5d:", 9), 0);
	ck_assert_int_eq(d->on_crash, ACT_PRESERVE);
	char *out1 = dom_def_format(d, -1);
	ck_assert_ptr_nonnull(strstr(out1, "<uuid>6b1f1d2c-3a4b-4c5d-8e9f-0a1b2c3d4e5f</uuid>"));
	ck_assert_ptr_nonnull(strstr(out1, "<title>t &amp; x</title>"));
	ck_assert_ptr_nonnull(strstr(out1, "<memory unit='KiB'>2097152</memory>"));
	ck_assert_ptr_nonnull(strstr(out1, "<readonly/>"));
	ck_assert_ptr_nonnull(strstr(out1, "<console type='pty'>"));
	/* Parsing the canonical form gives back the same canonical form. */
	struct dom_def *d2 = parse(out1, &err);
	ck_assert_msg(d2, "%s", err.msg);
	char *out2 = dom_def_format(d2, -1);
	ck_assert_str_eq(out1, out2);
	char *live = dom_def_format(d2, 7);
	ck_assert_ptr_nonnull(strstr(live, "<domain type='linhv' id='7'>"));
	free(out1);
	free(out2);
	free(live);
	dom_def_free(d);
	dom_def_free(d2);
}
END_TEST

/* Block devices, serials and cache modes survive the canonical form. */
START_TEST(disk_options_roundtrip)
{
	struct vmms_err err;
	struct dom_def *d = parse(
	    HEAD MEM OS "<devices><disk type='block' device='disk'><driver name='qemu' type='raw' "
			"cache='none'/><source dev='/dev/vg/data'/><target dev='sdb' bus='scsi'/>"
			"<serial>DATA-1</serial></disk>"
			"<disk type='file'><driver cache='writeback'/><source file='/a'/>"
			"<target dev='sda'/></disk>"
			"<interface type='bridge'><source bridge='br0'/><target dev='vnet3'/>"
			"</interface></devices></domain>",
	    &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert(d->disks[0].block);
	ck_assert_str_eq(d->disks[0].file, "/dev/vg/data");
	ck_assert_str_eq(d->disks[0].serial, "DATA-1");
	ck_assert_int_eq(d->disks[0].cache, CACHE_NONE);
	ck_assert_int_eq(d->disks[1].cache, CACHE_WRITEBACK);
	ck_assert_str_eq(d->nics[0].tap, "vnet3");
	char *out = dom_def_format(d, -1);
	ck_assert_ptr_nonnull(strstr(out, "<disk type='block' device='disk'>\n      <driver "
					  "type='raw' cache='none'/>\n      <source "
					  "dev='/dev/vg/data'/>"));
	ck_assert_ptr_nonnull(strstr(out, "<serial>DATA-1</serial>"));
	ck_assert_ptr_nonnull(strstr(out, "<driver type='raw' cache='writeback'/>"));
	/* The generated MAC is written out, so the stored definition keeps it. */
	ck_assert_ptr_nonnull(strstr(out, "<mac address='00:15:5d:"));
	struct dom_def *d2 = parse(out, &err);
	ck_assert_msg(d2, "%s", err.msg);
	ck_assert_str_eq(d2->nics[0].mac, d->nics[0].mac);
	char *out2 = dom_def_format(d2, -1);
	ck_assert_str_eq(out, out2);
	struct dom_def *c = dom_def_copy(d2);
	char *out3 = dom_def_format(c, -1);
	ck_assert_str_eq(out, out3);
	free(out);
	free(out2);
	free(out3);
	dom_def_free(d);
	dom_def_free(d2);
	dom_def_free(c);
}
END_TEST

START_TEST(copy_is_deep)
{
	struct vmms_err err;
	struct dom_def *d = parse(HEAD MEM OS "<devices><disk type='file'><source file='/a'/>"
					      "<target dev='sda'/></disk></devices></domain>",
				  &err);
	ck_assert_msg(d, "%s", err.msg);
	struct dom_def *c = dom_def_copy(d);
	ck_assert_ptr_ne(c->disks[0].file, d->disks[0].file);
	char *a = dom_def_format(d, -1);
	dom_def_free(d);
	char *b = dom_def_format(c, -1);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	dom_def_free(c);
}
END_TEST

static void expect_error(const char *xml, int code, const char *needle)
{
	struct vmms_err err;
	struct dom_def *d = parse(xml, &err);
	ck_assert_msg(!d, "accepted: %s", xml);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strstr(err.msg, needle), "'%s' not in '%s'", needle, err.msg);
}

START_TEST(rejections)
{
	expect_error("<domain type='linhv'><name>x</name", VIR_ERR_XML_ERROR, "malformed");
	expect_error("", VIR_ERR_XML_ERROR, "malformed");
	expect_error("<network/>", VIR_ERR_XML_ERROR, "<domain>");
	expect_error("<domain type='kvm'><name>a</name>" MEM OS "</domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "type 'kvm'");
	expect_error(HEAD MEM OS "<features><acpi/><pae/></features></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "element <pae> in <features>");
	expect_error(HEAD MEM OS "<features><apic eoi='on'/></features></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "eoi");
	expect_error(HEAD "<metadata><plain/></metadata>" MEM OS "</domain>", VIR_ERR_XML_ERROR,
		     "needs a namespace");
	expect_error(HEAD MEM OS "<devices><emulator>vmwp</emulator></devices></domain>",
		     VIR_ERR_XML_ERROR, "absolute path");
	expect_error(HEAD MEM OS "<devices><video/></devices></domain>", VIR_ERR_CONFIG_UNSUPPORTED,
		     "<video>");
	expect_error(HEAD MEM OS "<devices><disk type='network'/></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "disk type 'network'");
	expect_error(HEAD MEM OS "<devices><disk type='file' device='cdrom'/></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "disk device 'cdrom'");
	expect_error(HEAD MEM OS "<devices><disk type='block'><source file='/dev/sdz'/>"
				 "<target dev='sda'/></disk></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "attribute 'file' of element <source>");
	expect_error(HEAD MEM OS "<devices><disk type='block'><target dev='sda'/></disk>"
				 "</devices></domain>",
		     VIR_ERR_XML_ERROR, "<source dev=");
	expect_error(HEAD MEM OS "<devices><disk type='file'><source file='/a'/><target dev='sda'/>"
				 "<driver cache='unsafe'/></disk></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "cache mode 'unsafe'");
	expect_error(HEAD MEM OS "<devices><disk type='file'><source file='/a'/><target dev='sda'/>"
				 "<serial>way-too-long-for-scsi-serial</serial></disk></devices>"
				 "</domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "<serial>");
	expect_error(HEAD MEM OS "<devices><disk type='file'><source file='/a'/><target dev='sda'/>"
				 "<serial>a,b</serial></disk></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "<serial>");
	expect_error(HEAD MEM OS "<devices><disk type='file'><source file='/a'/><target dev='sda'/>"
				 "<iotune/></disk></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "element <iotune> in <disk>");
	expect_error(HEAD MEM OS "<devices><interface type='user'/></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "interface type 'user'");
	expect_error(HEAD MEM OS "<devices><interface type='bridge'><source bridge='br0'/>"
				 "<model type='virtio'/></interface></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "model 'virtio'");
	expect_error(HEAD MEM OS "<devices><interface type='bridge'><source bridge='br0'/>"
				 "<vlan/></interface></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "element <vlan> in <interface>");
	expect_error(HEAD MEM OS "<devices><interface type='bridge'/></devices></domain>",
		     VIR_ERR_XML_ERROR, "source bridge");
	expect_error(HEAD MEM OS "<devices><interface type='ethernet'/></devices></domain>",
		     VIR_ERR_XML_ERROR, "target dev");
	expect_error(HEAD MEM OS "<devices><disk type='file'><source file='/a'/><target "
				 "dev='sda' bus='virtio'/></disk></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "bus 'virtio'");
	expect_error(HEAD MEM OS "<devices><interface type='network'/></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "'network'");
	expect_error(HEAD MEM OS
		     "<devices><interface type='bridge'><source bridge='br0'/>"
		     "<mac address='01:00:00:00:00:01'/></interface></devices></domain>",
		     VIR_ERR_XML_ERROR, "MAC");
	expect_error(HEAD MEM "<os><type>hvm</type><boot dev='hd'/></os></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "<boot>");
	expect_error(HEAD MEM "<os><type>hvm</type></os></domain>", VIR_ERR_XML_ERROR, "kernel");
	expect_error(HEAD MEM "<os><type>hvm</type><kernel>rel/k</kernel></os></domain>",
		     VIR_ERR_XML_ERROR, "absolute");
	expect_error(HEAD "<memory unit='MiB'>abc</memory>" OS "</domain>", VIR_ERR_XML_ERROR,
		     "whole number");
	expect_error(HEAD "<memory unit='parsec'>1</memory>" OS "</domain>", VIR_ERR_XML_ERROR,
		     "unit");
	expect_error(HEAD "<memory unit='MiB'>1</memory>" OS "</domain>", VIR_ERR_XML_ERROR,
		     "16 MiB");
	expect_error(HEAD MEM "<vcpu>0</vcpu>" OS "</domain>", VIR_ERR_XML_ERROR, "vcpu");
	expect_error("<domain type='linhv'><name>../etc</name>" MEM OS "</domain>",
		     VIR_ERR_XML_ERROR, "not valid");
	expect_error("<domain type='linhv'>" MEM OS "</domain>", VIR_ERR_XML_ERROR, "name");
	expect_error(HEAD MEM OS "<uuid>not-a-uuid</uuid></domain>", VIR_ERR_XML_ERROR, "uuid");
	expect_error(HEAD MEM OS "<on_crash>coredump-restart</on_crash></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "on_crash");
	expect_error(HEAD MEM OS "<on_reboot>preserve</on_reboot></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "on_reboot");
	expect_error("<domain type='linhv' foo='1'><name>a</name>" MEM OS "</domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "'foo'");
	expect_error(HEAD MEM OS "<devices><disk type='file'><source file='/a'/><target dev='sda'/>"
				 "</disk><disk type='file'><source file='/b'/><target dev='sda'/>"
				 "</disk></devices></domain>",
		     VIR_ERR_XML_ERROR, "sda");
	expect_error(HEAD MEM OS "<devices><console type='file'/></devices></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "pty");
}
END_TEST

START_TEST(clock_offsets)
{
	struct vmms_err err;
	struct dom_def *d = parse(HEAD MEM OS "<clock offset='utc'/></domain>", &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert_int_eq(d->clock, CLOCK_UTC);
	char *x = dom_def_format(d, -1);
	ck_assert_ptr_null(strstr(x, "<clock"));
	free(x);
	dom_def_free(d);

	d = parse(HEAD MEM OS "<clock offset='localtime'/></domain>", &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert_int_eq(d->clock, CLOCK_LOCALTIME);
	x = dom_def_format(d, -1);
	ck_assert_ptr_nonnull(strstr(x, "<clock offset='localtime'/>"));
	free(x);
	dom_def_free(d);

	d = parse(HEAD MEM OS "<clock offset='absolute' start='978307200'></clock></domain>", &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert_int_eq(d->clock, CLOCK_ABSOLUTE);
	ck_assert_uint_eq(d->clock_start, 978307200);
	x = dom_def_format(d, -1);
	ck_assert_ptr_nonnull(strstr(x, "<clock offset='absolute' start='978307200'/>"));
	struct dom_def *again = parse(x, &err);
	ck_assert_msg(again, "%s", err.msg);
	ck_assert_uint_eq(again->clock_start, 978307200);
	dom_def_free(again);
	free(x);
	dom_def_free(d);

	expect_error(HEAD MEM OS "<clock offset='variable' adjustment='10'/></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "'adjustment'");
	expect_error(HEAD MEM OS "<clock offset='variable'/></domain>", VIR_ERR_CONFIG_UNSUPPORTED,
		     "variable");
	expect_error(HEAD MEM OS "<clock offset='absolute'/></domain>", VIR_ERR_XML_ERROR, "start");
	expect_error(HEAD MEM OS "<clock offset='absolute' start='-1'/></domain>",
		     VIR_ERR_XML_ERROR, "start");
	expect_error(HEAD MEM OS "<clock offset='absolute' start='253402300800'/></domain>",
		     VIR_ERR_XML_ERROR, "start");
	expect_error(HEAD MEM OS "<clock offset='utc' start='5'/></domain>", VIR_ERR_XML_ERROR,
		     "absolute");
	expect_error(HEAD MEM OS "<clock offset='utc'><timer name='rtc'/></clock></domain>",
		     VIR_ERR_CONFIG_UNSUPPORTED, "<timer>");
}
END_TEST

/* What virt-install writes beyond the basics: its osinfo <metadata>,
 * <features> with ACPI and APIC, <emulator>. Kept, and stable. */
START_TEST(virt_install_extras_roundtrip)
{
	const char *xml =
	    HEAD "<metadata><app:os xmlns:app='http://example.org/app' id='x'><app:v>1 &amp; "
		 "2</app:v></app:os><b:x xmlns:b='urn:b'/></metadata>" MEM OS
		 "<features><acpi/><apic/></features>"
		 "<devices><emulator>/usr/libexec/linhv/vmwp</emulator></devices></domain>";
	struct vmms_err err;
	struct dom_def *d = parse(xml, &err);
	ck_assert_msg(d, "%s", err.msg);
	ck_assert(d->features);
	ck_assert_str_eq(d->emulator, "/usr/libexec/linhv/vmwp");
	ck_assert_ptr_nonnull(strstr(d->metadata, "xmlns:app=\"http://example.org/app\""));
	ck_assert_ptr_nonnull(strstr(d->metadata, "1 &amp; 2"));
	char *out = dom_def_format(d, -1);
	ck_assert_ptr_nonnull(strstr(out, "<features>\n    <acpi/>\n    <apic/>\n  </features>"));
	ck_assert_ptr_nonnull(strstr(out, "<emulator>/usr/libexec/linhv/vmwp</emulator>"));
	struct dom_def *d2 = parse(out, &err);
	ck_assert_msg(d2, "%s", err.msg);
	char *out2 = dom_def_format(d2, -1);
	ck_assert_str_eq(out, out2);
	struct dom_def *c = dom_def_copy(d2);
	char *out3 = dom_def_format(c, -1);
	ck_assert_str_eq(out, out3);
	free(out);
	free(out2);
	free(out3);
	dom_def_free(d);
	dom_def_free(d2);
	dom_def_free(c);
}
END_TEST

START_TEST(uuid_forms)
{
	unsigned char u[16];
	ck_assert_int_eq(uuid_parse("6b1f1d2c3a4b4c5d8e9f0a1b2c3d4e5f", u), 0);
	char s[37];
	uuid_format(u, s);
	ck_assert_str_eq(s, "6b1f1d2c-3a4b-4c5d-8e9f-0a1b2c3d4e5f");
	ck_assert_int_eq(uuid_parse("6b1f1d2c-3a4b", u), -1);
	ck_assert_int_eq(uuid_parse("6b1f1d2c3a4b4c5d8e9f0a1b2c3d4e5f00", u), -1);
	ck_assert(dom_name_valid("a.b_c-d+1"));
	ck_assert(!dom_name_valid(".hidden"));
	ck_assert(!dom_name_valid("a/b"));
	ck_assert(!dom_name_valid(""));
}
END_TEST

TEST_MAIN("vmms_domxml", minimal_gets_defaults, memory_units, full_roundtrip_is_stable,
	  copy_is_deep, disk_options_roundtrip, rejections, uuid_forms, clock_offsets,
	  virt_install_extras_roundtrip)
