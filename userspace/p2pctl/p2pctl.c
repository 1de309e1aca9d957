// SPDX-License-Identifier: MIT
/*
 * p2pctl: inspect and exercise p2pbuf devices (p2pgpu GPUs, p2prdma NICs).
 * See `p2pctl --help` and `p2pctl <command> --help`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/dma-buf.h>

#include "bench.h"
#include "cli.h"
#include "json.h"
#include "p2pbuf.h"

#define MAX_DEVS 64

static const char *prog = "p2pctl";

static const char exit_codes_text[] =
	"EXIT STATUS\n"
	"    0  success\n"
	"    1  failure (an ioctl or a step failed; the message says which and why)\n"
	"    2  usage error (bad command or option)\n"
	"    3  no device: no p2pgpu GPU and/or no p2prdma NIC found\n"
	"    4  data mismatch: the bytes read back differ from the bytes sent\n";

static const char main_help[] =
	"NAME\n"
	"    p2pctl - inspect and exercise peer-to-peer DMA between p2pgpu GPUs\n"
	"             and p2prdma NICs\n"
	"\n"
	"SYNOPSIS\n"
	"    p2pctl [--help | --version]\n"
	"    p2pctl <command> [options]\n"
	"    p2pctl help <command>\n"
	"\n"
	"DESCRIPTION\n"
	"    A GPU driven by p2pgpu keeps buffers in VRAM, a PCI BAR. It shares them\n"
	"    as dma-bufs. A NIC driven by p2prdma registers such a dma-buf and moves\n"
	"    data into it by DMA, either peer-to-peer (straight into the BAR, the\n"
	"    fast path) or through a staging copy in system memory, when the PCIe\n"
	"    topology or the kernel does not allow peer-to-peer. p2pctl shows which\n"
	"    one you get, and why.\n"
	"\n"
	"COMMANDS\n"
	"    devices    list GPUs and NICs with their PCI addresses and capabilities\n"
	"    topology   probe every GPU x NIC pair: peer-to-peer or staged, and why\n"
	"    explain    the same as prose, with the likely cause and the fix\n"
	"    share      share a VRAM buffer between two processes, DMA into it from\n"
	"               the NIC, and verify the data\n"
	"    bench      measure map cost, re-maps, migration and scale against\n"
	"               udmabuf, the system dma-heap and memcpy in this machine\n"
	"\n"
	"    Run `p2pctl <command> --help` for each command's options.\n"
	"\n";

#define usage_err cli_usage

static const char *human(uint64_t v, char *buf, size_t n)
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && !(v % 1024) && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, "%" PRIu64 " %s", v, u[i]);
	return buf;
}

static bool module_loaded(const char *m)
{
	char p[64];
	struct stat st;

	snprintf(p, sizeof(p), "/sys/module/%s", m);
	return stat(p, &st) == 0;
}

static void explain_missing(bool gpus, bool nics)
{
	if (!gpus) {
		if (!module_loaded("p2pgpu"))
			fprintf(stderr, "%s: no GPU found: the p2pgpu driver is not loaded "
				"(load it: `modprobe p2pgpu`, or `insmod p2pgpu.ko` from the "
				"build tree).\n", prog);
		else
			fprintf(stderr, "%s: no GPU found: p2pgpu is loaded but drives no "
				"device (no DRM device named \"p2pgpu\"; see `dmesg | grep "
				"p2pgpu` and `lspci`), or its DRM nodes are not accessible.\n",
				prog);
	}
	if (!nics) {
		if (!module_loaded("p2prdma"))
			fprintf(stderr, "%s: no NIC found: the p2prdma driver is not loaded "
				"(load it: `modprobe p2prdma`, or `insmod p2prdma.ko`).\n",
				prog);
		else
			fprintf(stderr, "%s: no NIC found: p2prdma is loaded but there is no "
				"/dev/p2prdma<N> (see `dmesg | grep p2prdma` and `lspci`).\n",
				prog);
	}
}

struct devs {
	struct p2pbuf_gpu_desc gpu[MAX_DEVS];
	struct p2pbuf_nic_desc nic[MAX_DEVS];
	int ngpu, nnic;
};

static int list_devs(struct devs *d)
{
	d->ngpu = p2pbuf_gpu_list(d->gpu, MAX_DEVS);
	if (d->ngpu < 0) {
		fprintf(stderr, "%s: listing DRM devices: %s\n", prog,
			p2pbuf_strerror(d->ngpu));
		d->ngpu = 0;
	}
	if (d->ngpu > MAX_DEVS)
		d->ngpu = MAX_DEVS;
	d->nnic = p2pbuf_nic_list(d->nic, MAX_DEVS);
	if (d->nnic < 0) {
		fprintf(stderr, "%s: listing /dev/p2prdma*: %s\n", prog,
			p2pbuf_strerror(d->nnic));
		d->nnic = 0;
	}
	if (d->nnic > MAX_DEVS)
		d->nnic = MAX_DEVS;
	return 0;
}

/* Common option parsing: --json, --help, --gpu N, --nic N, --size N, ... */
struct opts {
	bool json, help, all, verbose;
	struct cli_dev gpu_sel, nic_sel;	/* as given */
	int gpu, nic;		/* resolved index; -1: all / default */
	uint64_t size;
	const char *reason;
	bool require_p2p;
};

enum { O_JSON = 1, O_GPU, O_NIC, O_SIZE, O_REASON, O_ALL, O_HELP, O_VERBOSE,
       O_REQUIRE_P2P };

static int parse_opts(const char *cmd, int argc, char **argv, const char *allowed,
		      struct opts *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "gpu", required_argument, NULL, O_GPU },
		{ "nic", required_argument, NULL, O_NIC },
		{ "size", required_argument, NULL, O_SIZE },
		{ "reason", required_argument, NULL, O_REASON },
		{ "all", no_argument, NULL, O_ALL },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "require-p2p", no_argument, NULL, O_REQUIRE_P2P },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->gpu = o->nic = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hv", lo, NULL)) != -1) {
		const char *name = NULL;

		switch (c) {
		case 'h':
		case O_HELP: o->help = true; continue;
		case O_JSON: name = "json"; break;
		case O_GPU: name = "gpu"; break;
		case O_NIC: name = "nic"; break;
		case O_SIZE: name = "size"; break;
		case O_REASON: name = "reason"; break;
		case O_ALL: name = "all"; break;
		case O_REQUIRE_P2P: name = "require-p2p"; break;
		case 'v':
		case O_VERBOSE: name = "verbose"; break;
		case ':':
			usage_err(cmd, "option '%s' requires a value", argv[optind - 1]);
			return -1;
		default:
			usage_err(cmd, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
		if (!strstr(allowed, name)) {
			usage_err(cmd, "option '--%s' does not apply to this command", name);
			return -1;
		}
		switch (c) {
		case O_JSON: o->json = true; break;
		case O_ALL: o->all = true; break;
		case O_REQUIRE_P2P: o->require_p2p = true; break;
		case 'v':
		case O_VERBOSE: o->verbose = true; break;
		case O_REASON: o->reason = optarg; break;
		case O_GPU:
			if (cli_dev_parse(cmd, "--gpu", optarg, &o->gpu_sel))
				return -1;
			break;
		case O_NIC:
			if (cli_dev_parse(cmd, "--nic", optarg, &o->nic_sel))
				return -1;
			break;
		case O_SIZE:
			if (cli_size(cmd, "--size", optarg, 1, CLI_MAX_SIZE, &o->size))
				return -1;
			break;
		}
	}
	if (optind < argc) {
		usage_err(cmd, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* devices                                                               */
/* ------------------------------------------------------------------ */

static const char devices_help[] =
	"NAME\n"
	"    p2pctl devices - list p2pgpu GPUs and p2prdma NICs\n"
	"\n"
	"SYNOPSIS\n"
	"    p2pctl devices [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    GPUs are found through libdrm as DRM devices whose driver is \"p2pgpu\";\n"
	"    NICs are the /dev/p2prdma<N> character devices. For each: its index (used\n"
	"    by --gpu/--nic elsewhere), PCI address (domain:bus:device.function),\n"
	"    device node and state. For GPUs, the kernel capabilities that decide\n"
	"    whether peer-to-peer is possible at all:\n"
	"      P2PDMA        the kernel has CONFIG_PCI_P2PDMA\n"
	"      move_notify   the kernel has CONFIG_DMABUF_MOVE_NOTIFY\n"
	"      p2p enabled   the p2pgpu module parameter p2p=1\n"
	"\n"
	"OPTIONS\n"
	"    --json    print one JSON object: {\"gpus\": [...], \"nics\": [...]}\n"
	"    --help    this text\n"
	"\n";

static void caps_str(uint32_t caps, char *b, size_t n)
{
	snprintf(b, n, "P2PDMA %s, move_notify %s, p2p %s",
		 caps & P2PGPU_CAP_P2PDMA ? "yes" : "NO",
		 caps & P2PGPU_CAP_MOVE_NOTIFY ? "yes" : "NO",
		 caps & P2PGPU_CAP_P2P_ENABLED ? "enabled" : "DISABLED (p2pgpu.p2p=0)");
}

static void json_gpu(struct json *j, int idx, const struct p2pbuf_gpu_desc *d)
{
	struct p2pbuf_gpu_info info;
	struct p2pbuf_gpu *gpu = NULL;
	int ret;

	json_begin_obj(j);
	json_kint(j, "index", idx);
	json_kstr(j, "name", "p2pgpu");
	ret = p2pbuf_gpu_open_path(d->node, &gpu);
	if (!ret)
		ret = p2pbuf_gpu_info(gpu, &info);
	json_kstr(j, "pci", !ret ? info.pci : d->pci);
	json_kstr(j, "node", gpu ? gpu->node : d->node);
	if (!ret) {
		json_kuint(j, "vram_size", info.vram_size);
		json_kuint(j, "vram_used", info.vram_used);
		json_kuint(j, "vram_pinned", info.vram_pinned);
		json_kuint(j, "vram_pin_limit", info.vram_pin_limit);
		json_kuint(j, "bar_bus_addr", info.bar_bus_addr);
		json_key(j, "caps");
		json_begin_obj(j);
		json_kbool(j, "p2pdma", info.caps & P2PGPU_CAP_P2PDMA);
		json_kbool(j, "move_notify", info.caps & P2PGPU_CAP_MOVE_NOTIFY);
		json_kbool(j, "p2p_enabled", info.caps & P2PGPU_CAP_P2P_ENABLED);
		json_kuint(j, "raw", info.caps);
		json_end_obj(j);
		json_kstr(j, "error", NULL);
	} else {
		json_kstr(j, "error", p2pbuf_strerror(ret));
	}
	json_end_obj(j);
	p2pbuf_gpu_close(gpu);
}

static void json_nic(struct json *j, int idx, const struct p2pbuf_nic_desc *d)
{
	struct p2pbuf_nic_info info;
	struct p2pbuf_nic *nic = NULL;
	int ret;

	json_begin_obj(j);
	json_kint(j, "index", idx);
	json_kstr(j, "name", "p2prdma");
	ret = p2pbuf_nic_open_path(d->node, &nic);
	if (!ret)
		ret = p2pbuf_nic_info(nic, &info);
	json_kstr(j, "pci", !ret ? info.pci : d->pci);
	json_kstr(j, "node", d->node);
	if (!ret) {
		json_kuint(j, "dma_mask_bits", info.dma_mask_bits);
		json_kuint(j, "live_regions", info.live_regions);
		json_kstr(j, "error", NULL);
	} else {
		json_kstr(j, "error", p2pbuf_strerror(ret));
	}
	json_end_obj(j);
	p2pbuf_nic_close(nic);
}

static void json_devs(struct json *j, const struct devs *d)
{
	int i;

	json_key(j, "gpus");
	json_begin_arr(j);
	for (i = 0; i < d->ngpu; i++)
		json_gpu(j, i, &d->gpu[i]);
	json_end_arr(j);
	json_key(j, "nics");
	json_begin_arr(j);
	for (i = 0; i < d->nnic; i++)
		json_nic(j, i, &d->nic[i]);
	json_end_arr(j);
}

static int cmd_devices(int argc, char **argv)
{
	struct devs d;
	struct opts o;
	int i;

	if (parse_opts("devices", argc, argv, "json", &o))
		return EX_USAGE;
	if (o.help) {
		printf("%s%s", devices_help, exit_codes_text);
		return EX_OK;
	}
	list_devs(&d);
	if (o.json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_devs(&j, &d);
		json_end_obj(&j);
		json_finish(&j);
	} else {
		printf("GPUs (DRM driver p2pgpu): %d\n", d.ngpu);
		for (i = 0; i < d.ngpu; i++) {
			struct p2pbuf_gpu *gpu = NULL;
			struct p2pbuf_gpu_info info;
			char a[32], b[32], c[32], e[32], caps[128];
			int ret;

			ret = p2pbuf_gpu_open_path(d.gpu[i].node, &gpu);
			if (!ret)
				ret = p2pbuf_gpu_info(gpu, &info);
			if (ret == -EPROTO) {
				printf("  gpu%d  %-12s  %s  (p2pgpu interface %d.%d; this p2pctl speaks %d.x: install matching modules and tools)\n",
				       i, d.gpu[i].pci, d.gpu[i].node, d.gpu[i].drv_major,
				       d.gpu[i].drv_minor, P2PBUF_DRM_MAJOR);
				continue;
			}
			if (ret) {
				printf("  gpu%d  %-12s  %s  (cannot query: %s)\n", i,
				       d.gpu[i].pci, d.gpu[i].node, p2pbuf_strerror(ret));
				p2pbuf_gpu_close(gpu);
				continue;
			}
			caps_str(info.caps, caps, sizeof(caps));
			printf("  gpu%d  %s  %s\n", i, info.pci, gpu->node);
			printf("        VRAM %s (%s used, %s pinned, pin limit %s), BAR at bus address 0x%" PRIx64 "\n",
			       human(info.vram_size, a, sizeof(a)),
			       human(info.vram_used, b, sizeof(b)),
			       human(info.vram_pinned, c, sizeof(c)),
			       human(info.vram_pin_limit, e, sizeof(e)),
			       info.bar_bus_addr);
			printf("        kernel/driver: %s\n", caps);
			p2pbuf_gpu_close(gpu);
		}
		printf("NICs (p2prdma): %d\n", d.nnic);
		for (i = 0; i < d.nnic; i++) {
			struct p2pbuf_nic *nic = NULL;
			struct p2pbuf_nic_info info;
			int ret;

			ret = p2pbuf_nic_open_path(d.nic[i].node, &nic);
			if (!ret)
				ret = p2pbuf_nic_info(nic, &info);
			if (ret)
				printf("  nic%d  %-12s  %s  (cannot query: %s)\n", i,
				       d.nic[i].pci, d.nic[i].node, p2pbuf_strerror(ret));
			else
				printf("  nic%d  %s  %s  DMA mask %u bits, %u memory region%s registered\n",
				       i, info.pci, d.nic[i].node, info.dma_mask_bits,
				       info.live_regions, info.live_regions == 1 ? "" : "s");
			p2pbuf_nic_close(nic);
		}
	}
	if (!d.ngpu || !d.nnic) {
		explain_missing(d.ngpu, d.nnic);
		return EX_NODEV;
	}
	if (!o.json)
		printf("\nNext: `%s topology` shows whether each NIC reaches each GPU's VRAM\n"
		       "peer-to-peer.\n", prog);
	return EX_OK;
}

/* ------------------------------------------------------------------ */
/* topology / explain                                                    */
/* ------------------------------------------------------------------ */

static const char topology_help[] =
	"NAME\n"
	"    p2pctl topology - can each NIC reach each GPU's VRAM peer-to-peer?\n"
	"\n"
	"SYNOPSIS\n"
	"    p2pctl topology [--json] [--verbose] [--gpu DEV] [--nic DEV]\n"
	"\n"
	"DESCRIPTION\n"
	"    For every GPU x NIC pair (or the ones chosen): creates a one-page VRAM\n"
	"    buffer, exports it as a dma-buf, registers it on the NIC, DMAs one page\n"
	"    into it from user memory (the NIC maps the buffer on first use), then\n"
	"    asks the GPU driver how it handed the buffer to that NIC, and cleans up.\n"
	"    Prints a GPU x NIC matrix of short codes with a legend, like\n"
	"    `nvidia-smi topo -m`:\n"
	"      P2P   peer-to-peer by PCI bus address, through a shared switch\n"
	"      PHB   peer-to-peer through the host bridge or the IOMMU\n"
	"      NOSW, ACS, NOK, OFF, IMP, NPCI, PIN, SYS, MAPR\n"
	"            staged through a copy in system memory, and why\n"
	"      ERR   the probe failed (the step, the error and a hint follow)\n"
	"      a trailing ! means the data did not read back correctly.\n"
	"    With --verbose also one line per pair: the PCI p2p distance (-1: no\n"
	"    p2p path) and how many bytes went through system memory.\n"
	"    `p2pctl explain` says why and what to change.\n"
	"\n"
	"OPTIONS\n"
	"    --json    one JSON object: {\"gpus\":[...], \"nics\":[...], \"pairs\":[{\n"
	"              \"gpu\", \"nic\", \"gpu_pci\", \"nic_pci\", \"ok\", \"error\",\n"
	"              \"failed_step\", \"decision\" (\"p2p\"|\"staged\"), \"mapping\",\n"
	"              \"reason\", \"reason_code\", \"distance\", \"bus_address\",\n"
	"              \"nic_backing\", \"bytes\", \"bytes_via_system\", \"verified\",\n"
	"              \"explanation\"}]}\n"
	"    --gpu DEV only this GPU: an index (0, gpu0) or a PCI address\n"
	"              (0000:02:00.0); `p2pctl devices` lists them, in PCI order\n"
	"    --nic DEV only this NIC, the same way\n"
	"    --verbose, -v  the long form: one line per pair\n"
	"    --help    this text\n"
	"\n";

static const char explain_help[] =
	"NAME\n"
	"    p2pctl explain - why a GPU and a NIC do (not) talk peer-to-peer, and the fix\n"
	"\n"
	"SYNOPSIS\n"
	"    p2pctl explain [--gpu DEV] [--nic DEV]\n"
	"    p2pctl explain --reason CODE|NAME [--json]\n"
	"    p2pctl explain --all [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    Without --reason/--all: probes the pairs like `p2pctl topology` and\n"
	"    describes each in prose: the decision, the likely cause, and what to\n"
	"    change to get peer-to-peer.\n"
	"    --reason explains one P2PGPU_REASON_* code (number, or a name such as\n"
	"    no-common-switch), --all every code; neither needs a device.\n"
	"\n"
	"OPTIONS\n"
	"    --gpu DEV, --nic DEV  only these devices (index or PCI address)\n"
	"    --reason R         explain reason R (0 to 9 or its name; anything\n"
	"                       else is a usage error, exit 2)\n"
	"    --all              explain every reason code\n"
	"    --json             with --reason/--all: [{\"code\", \"name\", \"explanation\"}]\n"
	"    --help             this text\n"
	"\n";

struct pair {
	int gpu, nic;
	char gpu_pci[P2PBUF_PCI_ADDR_LEN], nic_pci[P2PBUF_PCI_ADDR_LEN];
	int open_err;
	const char *open_what;
	struct p2pbuf_probe r;
};

static int probe_all(const struct devs *d, const struct opts *o,
		     struct pair **out, int *npairs)
{
	struct pair *pairs;
	int g, n, k = 0;

	pairs = calloc((size_t)d->ngpu * d->nnic + 1, sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	for (g = 0; g < d->ngpu; g++) {
		struct p2pbuf_gpu *gpu = NULL;
		int gerr;

		if (o->gpu >= 0 && g != o->gpu)
			continue;
		gerr = p2pbuf_gpu_open_path(d->gpu[g].node, &gpu);
		for (n = 0; n < d->nnic; n++) {
			struct p2pbuf_nic *nic = NULL;
			struct pair *p = &pairs[k];

			if (o->nic >= 0 && n != o->nic)
				continue;
			k++;
			p->gpu = g;
			p->nic = n;
			snprintf(p->gpu_pci, sizeof(p->gpu_pci), "%s",
				 gpu ? gpu->pci : d->gpu[g].pci);
			snprintf(p->nic_pci, sizeof(p->nic_pci), "%s", d->nic[n].pci);
			p->r.distance = -1;
			if (gerr) {
				p->open_err = gerr;
				p->open_what = "open GPU";
				continue;
			}
			p->open_err = p2pbuf_nic_open_path(d->nic[n].node, &nic);
			if (p->open_err) {
				p->open_what = "open NIC";
				continue;
			}
			snprintf(p->nic_pci, sizeof(p->nic_pci), "%s", nic->pci);
			p2pbuf_probe_pair(gpu, nic, &p->r);
			p2pbuf_nic_close(nic);
		}
		p2pbuf_gpu_close(gpu);
	}
	*out = pairs;
	*npairs = k;
	return 0;
}

static int pair_err(const struct pair *p)
{
	return p->open_err ? p->open_err : p->r.error;
}

static const char *pair_step(const struct pair *p)
{
	return p->open_err ? p->open_what : p->r.failed_step;
}

static bool pair_p2p(const struct pair *p)
{
	return p->r.decision == P2PGPU_MAPPING_P2P;
}

/*
 * The matrix's short codes, `nvidia-smi topo -m` style, so that a cell
 * stays 5 columns wide however many devices there are.
 */
/* the highest P2PGPU_REASON_* this p2pctl knows */
#define REASON_LAST	P2PGPU_REASON_NOT_REVOCABLE

static const struct code {
	const char *code, *legend;
} codes[] = {
	{ "P2P", "peer-to-peer by PCI bus address (through a shared switch)" },
	{ "PHB", "peer-to-peer through the host bridge or the IOMMU" },
	[2 + P2PGPU_REASON_IMPORTER_NO_P2P] = { "IMP", "staged: the importer does not do peer-to-peer" },
	[2 + P2PGPU_REASON_IMPORTER_NOT_PCI] = { "NPCI", "staged: the importer is not a PCI device" },
	[2 + P2PGPU_REASON_NO_COMMON_SWITCH] = { "NOSW", "staged: no common switch (separate root ports)" },
	[2 + P2PGPU_REASON_ACS_REDIRECT] = { "ACS", "staged: ACS redirects peer traffic upstream" },
	[2 + P2PGPU_REASON_KERNEL_NO_P2PDMA] = { "NOK", "staged: the kernel has no P2PDMA (or MOVE_NOTIFY)" },
	[2 + P2PGPU_REASON_DISABLED_BY_PARAM] = { "OFF", "staged: p2p disabled by p2pgpu.p2p=0" },
	[2 + P2PGPU_REASON_PINNED_IN_SYSTEM] = { "PIN", "staged: pinned in system memory by another importer" },
	[2 + P2PGPU_REASON_SYSTEM_PLACEMENT] = { "SYS", "staged: the buffer is in system memory" },
	[2 + P2PGPU_REASON_MAP_REFUSED] = { "MAPR", "staged: the DMA API refused to map the BAR" },
	[2 + P2PGPU_REASON_NOT_REVOCABLE] = { "NREV", "staged: the importer cannot be revoked" },
	[2 + REASON_LAST + 1] = { "STG", "staged for a reason this p2pctl does not know" },
	[2 + REASON_LAST + 2] = { "ERR", "the probe failed (the step and error are below)" },
};

#define CODE_UNKNOWN	(2 + REASON_LAST + 1)
#define CODE_ERR	(2 + REASON_LAST + 2)

static int code_of(const struct pair *p)
{
	if (pair_err(p))
		return CODE_ERR;
	if (pair_p2p(p))
		return p->r.att_flags & P2PGPU_ATTACH_BUS_ADDR ? 0 : 1;
	if (p->r.reason >= P2PGPU_REASON_IMPORTER_NO_P2P &&
	    p->r.reason <= REASON_LAST)
		return 2 + (int)p->r.reason;
	return CODE_UNKNOWN;
}

/* One row per GPU, one 6-column cell per NIC, then the legend of the codes used. */
static void print_matrix(const struct devs *d, const struct opts *o,
			 const struct pair *pairs, int np)
{
	bool used[sizeof(codes) / sizeof(codes[0])] = { false };
	char line[8 + 8 * MAX_DEVS], b[16];
	bool bad = false;
	int g, n, i, k;

	k = snprintf(line, sizeof(line), "%-6s", "");
	for (n = 0; n < d->nnic; n++) {
		if (o->nic >= 0 && n != o->nic)
			continue;
		snprintf(b, sizeof(b), "nic%d", n);
		k += snprintf(line + k, sizeof(line) - k, " %-5s", b);
	}
	while (k && line[k - 1] == ' ')
		line[--k] = '\0';
	printf("%s\n", line);
	for (g = 0; g < d->ngpu; g++) {
		if (o->gpu >= 0 && g != o->gpu)
			continue;
		k = snprintf(line, sizeof(line), "gpu%-3d", g);
		for (i = 0; i < np; i++) {
			int c;

			if (pairs[i].gpu != g)
				continue;
			c = code_of(&pairs[i]);
			used[c] = true;
			snprintf(b, sizeof(b), "%s%s", codes[c].code,
				 c != CODE_ERR && !pairs[i].r.verified ? "!" : "");
			bad |= c != CODE_ERR && !pairs[i].r.verified;
			k += snprintf(line + k, sizeof(line) - k, " %-5s", b);
		}
		while (k && line[k - 1] == ' ')
			line[--k] = '\0';
		printf("%s\n", line);
	}
	printf("\nLegend:\n");
	for (i = 0; i < (int)(sizeof(codes) / sizeof(codes[0])); i++)
		if (used[i])
			printf("  %-5s %s\n", codes[i].code, codes[i].legend);
	if (bad)
		printf("  !     the data the NIC wrote did not read back correctly\n");
	printf("\n");
	for (g = 0; g < d->ngpu; g++)
		if (o->gpu < 0 || g == o->gpu)
			printf("  gpu%-3d %s  %s\n", g, d->gpu[g].pci, d->gpu[g].node);
	for (n = 0; n < d->nnic; n++)
		if (o->nic < 0 || n == o->nic)
			printf("  nic%-3d %s  %s\n", n, d->nic[n].pci, d->nic[n].node);
	printf("\n");
}

/* the route P2PDMA gives the pair (the attachment's P2PGPU_ATTACH_MAP_* bits) */
static const char *route_str(uint32_t flags)
{
	if (flags & P2PGPU_ATTACH_MAP_BUS_ADDR)
		return "bus-addr";
	if (flags & P2PGPU_ATTACH_MAP_HOST_BRIDGE)
		return "host-bridge";
	return "none";
}

static void pair_line(const struct pair *p)
{
	printf("  gpu%d %s -> nic%d %s: ", p->gpu, p->gpu_pci, p->nic, p->nic_pci);
	if (pair_err(p)) {
		printf("probe failed at \"%s\": %s\n", pair_step(p),
		       p2pbuf_strerror(pair_err(p)));
		return;
	}
	if (pair_p2p(p))
		printf("peer-to-peer, %s, route %s, distance %d\n",
		       p->r.att_flags & P2PGPU_ATTACH_BUS_ADDR ?
		       "by PCI bus address" : "through the host bridge/IOMMU",
		       route_str(p->r.att_flags), p->r.distance);
	else
		printf("staged in system memory, reason %s (%u), distance %d\n",
		       p2pbuf_reason_str(p->r.reason), p->r.reason, p->r.distance);
	printf("      %" PRIu64 " of %" PRIu64 " bytes went through system memory; NIC saw %s memory; data %s\n",
	       p->r.bytes_via_system, p->r.bytes,
	       p2pbuf_backing_str(p->r.backing),
	       p->r.verified ? "verified" : "MISMATCH");
}

static int pairs_status(const struct pair *pairs, int n)
{
	int i, rc = EX_OK;

	for (i = 0; i < n; i++) {
		if (pair_err(&pairs[i]))
			return EX_FAIL;
		if (!pairs[i].r.verified)
			rc = EX_MISMATCH;
	}
	return rc;
}

/* The devices are there, and --gpu/--nic name one of them: o->gpu, o->nic. */
static int need_devices(const struct devs *d, struct opts *o)
{
	const char *pci[MAX_DEVS];
	int i;

	if (!d->ngpu || !d->nnic) {
		explain_missing(d->ngpu, d->nnic);
		return EX_NODEV;
	}
	for (i = 0; i < d->ngpu; i++)
		pci[i] = d->gpu[i].pci;
	o->gpu = o->gpu_sel.set ? cli_dev_resolve("gpu", &o->gpu_sel, pci, d->ngpu) : -1;
	if (o->gpu_sel.set && o->gpu < 0)
		return EX_NODEV;
	for (i = 0; i < d->nnic; i++)
		pci[i] = d->nic[i].pci;
	o->nic = o->nic_sel.set ? cli_dev_resolve("nic", &o->nic_sel, pci, d->nnic) : -1;
	if (o->nic_sel.set && o->nic < 0)
		return EX_NODEV;
	return EX_OK;
}

static int cmd_topology(int argc, char **argv)
{
	struct pair *pairs = NULL;
	struct devs d;
	struct opts o;
	int i, np = 0, rc;

	if (parse_opts("topology", argc, argv, "json gpu nic verbose", &o))
		return EX_USAGE;
	if (o.help) {
		printf("%s%s", topology_help, exit_codes_text);
		return EX_OK;
	}
	list_devs(&d);
	rc = need_devices(&d, &o);
	if (rc) {
		if (o.json) {
			struct json j;

			json_init(&j, stdout);
			json_begin_obj(&j);
			json_devs(&j, &d);
			json_key(&j, "pairs");
			json_begin_arr(&j);
			json_end_arr(&j);
			json_end_obj(&j);
			json_finish(&j);
		}
		return rc;
	}
	if (probe_all(&d, &o, &pairs, &np)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EX_FAIL;
	}
	if (o.json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_devs(&j, &d);
		json_key(&j, "pairs");
		json_begin_arr(&j);
		for (i = 0; i < np; i++) {
			const struct pair *p = &pairs[i];
			bool ok = !pair_err(p);

			json_begin_obj(&j);
			json_kint(&j, "gpu", p->gpu);
			json_kint(&j, "nic", p->nic);
			json_kstr(&j, "gpu_pci", p->gpu_pci);
			json_kstr(&j, "nic_pci", p->nic_pci);
			json_kbool(&j, "ok", ok);
			json_kstr(&j, "error", ok ? NULL : p2pbuf_strerror(pair_err(p)));
			json_kint(&j, "errno", -pair_err(p));
			json_kstr(&j, "failed_step", ok ? NULL : pair_step(p));
			json_kstr(&j, "decision", ok ? p2pbuf_mapping_str(p->r.decision) : NULL);
			json_kstr(&j, "mapping", ok ? p2pbuf_mapping_str(p->r.mapping) : NULL);
			json_kstr(&j, "reason", ok ? p2pbuf_reason_str(p->r.reason) : NULL);
			json_kint(&j, "reason_code", ok ? (int64_t)p->r.reason : -1);
			json_kint(&j, "distance", p->r.distance);
			json_kbool(&j, "bus_address", p->r.att_flags & P2PGPU_ATTACH_BUS_ADDR);
			json_kstr(&j, "route", ok ? route_str(p->r.att_flags) : NULL);
			json_kstr(&j, "nic_backing", p2pbuf_backing_str(p->r.backing));
			json_kuint(&j, "bytes", p->r.bytes);
			json_kuint(&j, "bytes_via_system", p->r.bytes_via_system);
			json_kbool(&j, "verified", p->r.verified);
			json_kstr(&j, "explanation", ok ? p2pbuf_reason_explain(p->r.reason) : NULL);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_end_obj(&j);
		json_finish(&j);
	} else {
		print_matrix(&d, &o, pairs, np);
		for (i = 0; i < np; i++) {
			if (o.verbose) {
				pair_line(&pairs[i]);
			} else if (pair_err(&pairs[i])) {
				pair_line(&pairs[i]);
				cli_hint(pair_err(&pairs[i]), pair_step(&pairs[i]));
			}
		}
		printf("%sRun `%s explain` for the cause and the fix%s.\n",
		       o.verbose || pairs_status(pairs, np) == EX_FAIL ? "\n" : "",
		       prog, o.verbose ? "" : ",\n`p2pctl topology --verbose` for each pair's distance and bytes");
	}
	rc = pairs_status(pairs, np);
	free(pairs);
	return rc;
}

/* A reason code this p2pctl knows, by number or name; -1 otherwise. */
static int parse_reason(const char *s, uint32_t *r)
{
	uint32_t i;
	char *end;
	unsigned long v;

	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || *end || v > REASON_LAST)
			return -1;
		*r = (uint32_t)v;
		return 0;
	}
	for (i = 0; i <= REASON_LAST; i++) {
		const char *n = p2pbuf_reason_str(i);
		char alt[64];
		size_t k;

		snprintf(alt, sizeof(alt), "%s", s);
		for (k = 0; alt[k]; k++) {
			if (alt[k] == '_')
				alt[k] = '-';
			alt[k] = (char)(alt[k] >= 'A' && alt[k] <= 'Z' ? alt[k] + 32 : alt[k]);
		}
		if (!strncmp(alt, "p2pgpu-reason-", 14))
			memmove(alt, alt + 14, strlen(alt + 14) + 1);
		if (!strcmp(alt, n)) {
			*r = i;
			return 0;
		}
	}
	return -1;
}

static void print_wrapped(const char *indent, const char *text, int width)
{
	int ind = (int)strlen(indent), col = ind;
	const char *p = text;

	fputs(indent, stdout);
	while (*p) {
		const char *e;
		int len;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		e = p;
		while (*e && *e != ' ')
			e++;
		len = (int)(e - p);
		if (col > ind && col + 1 + len > width) {
			fputc('\n', stdout);
			printf("%*s", ind, "");
			col = ind;
		} else if (col > ind) {
			fputc(' ', stdout);
			col++;
		}
		fwrite(p, 1, len, stdout);
		col += len;
		p = e;
	}
	fputc('\n', stdout);
}

static int cmd_explain(int argc, char **argv)
{
	struct pair *pairs = NULL;
	struct devs d;
	struct opts o;
	int i, np = 0, rc;

	if (parse_opts("explain", argc, argv, "json gpu nic reason all", &o))
		return EX_USAGE;
	if (o.help) {
		printf("%s%s", explain_help, exit_codes_text);
		return EX_OK;
	}
	if (o.reason || o.all) {
		uint32_t r = 0, lo = 0, hi = REASON_LAST;

		if (o.reason) {
			if (parse_reason(o.reason, &r)) {
				usage_err("explain", "--reason: '%s' is not a reason code (0 to %d, or a name: `p2pctl explain --all` lists them)",
					  o.reason, REASON_LAST);
				return EX_USAGE;
			}
			lo = hi = r;
		}
		if (o.json) {
			struct json j;

			json_init(&j, stdout);
			json_begin_arr(&j);
			for (r = lo; r <= hi; r++) {
				json_begin_obj(&j);
				json_kuint(&j, "code", r);
				json_kstr(&j, "name", p2pbuf_reason_str(r));
				json_kstr(&j, "explanation", p2pbuf_reason_explain(r));
				json_end_obj(&j);
			}
			json_end_arr(&j);
			json_finish(&j);
		} else {
			for (r = lo; r <= hi; r++) {
				printf("%u %s\n", r, p2pbuf_reason_str(r));
				print_wrapped("    ", p2pbuf_reason_explain(r), 78);
			}
		}
		return EX_OK;
	}
	if (o.json) {
		usage_err("explain", "--json goes with --reason or --all (use `topology --json` for probes)");
		return EX_USAGE;
	}
	list_devs(&d);
	rc = need_devices(&d, &o);
	if (rc)
		return rc;
	if (probe_all(&d, &o, &pairs, &np)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EX_FAIL;
	}
	for (i = 0; i < np; i++) {
		const struct pair *p = &pairs[i];
		char t[512];

		printf("%sgpu%d (%s) and nic%d (%s):\n", i ? "\n" : "", p->gpu,
		       p->gpu_pci, p->nic, p->nic_pci);
		if (pair_err(p)) {
			snprintf(t, sizeof(t),
				 "The probe failed while trying to %s: %s. Check `dmesg` for the "
				 "driver's message; if the modules were just loaded, make sure "
				 "both bound to their devices (`p2pctl devices`).",
				 pair_step(p), p2pbuf_strerror(pair_err(p)));
			print_wrapped("  ", t, 78);
			fflush(stdout);
			cli_hint(pair_err(p), pair_step(p));
			continue;
		}
		if (pair_p2p(p)) {
			snprintf(t, sizeof(t),
				 "Peer-to-peer works: the NIC DMAs straight into the GPU's "
				 "VRAM %s (PCI p2p distance %d); %" PRIu64 " of %" PRIu64
				 " test bytes went through system memory.",
				 p->r.att_flags & P2PGPU_ATTACH_BUS_ADDR ?
				 "by PCI bus address, through the switch they share" :
				 "through the host bridge (or the IOMMU)",
				 p->r.distance, p->r.bytes_via_system, p->r.bytes);
			print_wrapped("  ", t, 78);
		} else {
			snprintf(t, sizeof(t),
				 "Data goes through a staging copy in system memory, not "
				 "peer-to-peer (%" PRIu64 " of %" PRIu64 " test bytes went "
				 "through system memory). Reason: %s (%u).",
				 p->r.bytes_via_system, p->r.bytes,
				 p2pbuf_reason_str(p->r.reason), p->r.reason);
			print_wrapped("  ", t, 78);
			print_wrapped("  Cause and fix: ", p2pbuf_reason_explain(p->r.reason), 78);
		}
		if (!p->r.verified)
			printf("  WARNING: the data the NIC wrote did not read back correctly.\n");
	}
	rc = pairs_status(pairs, np);
	free(pairs);
	return rc;
}

/* ------------------------------------------------------------------ */
/* share                                                                 */
/* ------------------------------------------------------------------ */

static const char share_help[] =
	"NAME\n"
	"    p2pctl share - share a VRAM buffer between two processes and fill it by DMA\n"
	"\n"
	"SYNOPSIS\n"
	"    p2pctl share [--size N] [--gpu DEV] [--nic DEV] [--require-p2p] [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    The dma-buf round trip that an application pairing a GPU with an RDMA\n"
	"    NIC does, in two processes connected by a unix socket:\n"
	"      A (the \"GPU process\") creates a VRAM buffer, exports it as a dma-buf\n"
	"        and sends the file descriptor to B (SCM_RIGHTS);\n"
	"      B (the \"NIC process\") registers the dma-buf on the NIC, registers a\n"
	"        user buffer holding a test pattern, and has the NIC DMA it into the\n"
	"        VRAM buffer;\n"
	"      A reads the buffer back through its own CPU mapping and checks every\n"
	"        byte, and asks the GPU driver how the buffer was handed to the NIC.\n"
	"    Prints the decision (peer-to-peer or staged), the reason with its\n"
	"    explanation, and how many bytes went through system memory.\n"
	"    Exits 0 only when every byte was verified.\n"
	"\n"
	"OPTIONS\n"
	"    --size N  buffer size in bytes, default 16384; a suffix K, M, G or T\n"
	"              multiplies by 1024^1..4 (64K, 1M); no fractions\n"
	"    --gpu DEV use this GPU (default gpu0): an index or a PCI address\n"
	"    --nic DEV use this NIC (default nic0), the same way\n"
	"    --require-p2p\n"
	"              strict mode: B registers the dma-buf with\n"
	"              P2PRDMA_REG_REQUIRE_P2P, so the share fails (EREMOTEIO,\n"
	"              exit 1) instead of staging through system memory; the NIC's\n"
	"              record of the refusal and the GPU's reason are printed\n"
	"    --json    print the result as one JSON object\n"
	"    --help    this text\n"
	"\n";

#define SHARE_MAGIC 0x70327073u

struct share_hello {
	uint32_t magic;
	uint32_t reg_flags;		/* P2PRDMA_REG_* for B's registration */
	uint64_t size;
};

struct share_result {
	uint32_t magic;
	int32_t err;			/* 0 or -errno */
	char step[64];
	char nic_pci[P2PBUF_PCI_ADDR_LEN];
	char nic_node[P2PBUF_PATH_LEN];
	uint64_t bytes_via_system;
	uint32_t backing, mr_flags;
	uint32_t dmabuf_mr, user_mr;
	int32_t recv_fd;
	int32_t pid;
	uint64_t ns;			/* duration of the transfer */
	struct p2pbuf_refusal refusal;	/* B's NIC file's, after -EREMOTEIO */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t pattern(uint64_t i)
{
	uint64_t x = (i / 8) * 0x9e3779b97f4a7c15ull + 0x5851f42d4c957f2dull;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	return (uint8_t)(x >> ((i % 8) * 8));
}

/* Process B: the NIC side. Returns its exit status. */
static int share_child(int sock, int nic_idx)
{
	struct share_result res;
	struct share_hello h;
	struct p2pbuf_nic *nic = NULL;
	struct p2prdma_query_mr q;
	uint8_t *user = MAP_FAILED;
	uint64_t t0, i;
	char ack;
	int fd = -1, ret;
	ssize_t r;

	memset(&res, 0, sizeof(res));
	res.magic = SHARE_MAGIC;
	res.pid = getpid();
	res.recv_fd = -1;

	r = p2pbuf_recv_fd(sock, &fd, &h, sizeof(h));
	if (r != (ssize_t)sizeof(h) || h.magic != SHARE_MAGIC || fd < 0) {
		ret = r < 0 ? (int)r : -EPROTO;
		snprintf(res.step, sizeof(res.step), "receive the dma-buf fd");
		goto out;
	}
	res.recv_fd = fd;
#define STEP(name, call) \
	do { \
		ret = (call); \
		if (ret) { \
			snprintf(res.step, sizeof(res.step), "%s", name); \
			goto out; \
		} \
	} while (0)
	STEP("open the NIC", p2pbuf_nic_open(nic_idx, &nic));
	snprintf(res.nic_pci, sizeof(res.nic_pci), "%s", nic->pci);
	snprintf(res.nic_node, sizeof(res.nic_node), "%s", nic->node);
	STEP("register the dma-buf on the NIC",
	     p2pbuf_nic_reg_dmabuf(nic, fd, 0, h.size, P2PRDMA_ACCESS_ALL,
				   h.reg_flags, &res.dmabuf_mr));
	close(fd);		/* the registration holds its own reference */
	fd = -1;
	user = mmap(NULL, h.size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	STEP("allocate user memory", user == MAP_FAILED ? -errno : 0);
	for (i = 0; i < h.size; i++)
		user[i] = pattern(i);
	STEP("register user memory on the NIC",
	     p2pbuf_nic_reg_user(nic, user, h.size, P2PRDMA_ACCESS_ALL, &res.user_mr));
	t0 = now_ns();
	STEP("DMA from user memory into the VRAM buffer",
	     p2pbuf_nic_transfer(nic, res.dmabuf_mr, 0, res.user_mr, 0, h.size,
				 0, &res.bytes_via_system));
	res.ns = now_ns() - t0;
	if (!p2pbuf_nic_query_mr(nic, res.dmabuf_mr, &q)) {
		res.backing = q.backing;
		res.mr_flags = q.flags;
	}
#undef STEP
	ret = 0;
out:
	res.err = ret;
	if (ret == -EREMOTEIO && nic)
		p2pbuf_nic_last_refusal_ex(nic, &res.refusal, sizeof(res.refusal));
	if (p2pbuf_send_fd(sock, -1, &res, sizeof(res)) == 0 && !ret) {
		/* keep the registration alive until A has looked at it */
		r = recv(sock, &ack, 1, 0);
		(void)r;
	}
	if (res.user_mr)
		p2pbuf_nic_dereg(nic, res.user_mr);
	if (res.dmabuf_mr)
		p2pbuf_nic_dereg(nic, res.dmabuf_mr);
	p2pbuf_nic_close(nic);
	if (user != MAP_FAILED)
		munmap(user, h.size);
	if (fd >= 0)
		close(fd);
	close(sock);
	return ret ? EX_FAIL : EX_OK;
}

/*
 * Strict mode refused: what B's NIC recorded, and why the GPU stages the
 * pair (a probe of it: the refused attachment is gone from the GPU's list).
 */
static void share_explain_refusal(struct p2pbuf_gpu *gpu,
				  const struct share_result *res)
{
	const struct p2pbuf_refusal *r = &res->refusal;
	struct p2pbuf_nic *nic = NULL;
	struct p2pbuf_probe pr;

	if (r->size)
		fprintf(stderr, "  the NIC refused it at %s: %s exporter's buffer (dma-buf inode %" PRIu64
			"), mapping %s\n", p2pbuf_refusal_stage_str(r->stage),
			r->exporter[0] ? r->exporter : "an unnamed",
			r->dmabuf_ino, p2pbuf_backing_str(r->backing));
	if (p2pbuf_nic_open_pci(res->nic_pci, &nic) ||
	    p2pbuf_probe_pair_ex(gpu, nic, &pr, sizeof(pr)) ||
	    pr.decision != P2PGPU_MAPPING_STAGED) {
		fprintf(stderr, "  (`p2pctl explain` tells why the GPU stages for this NIC)\n");
	} else {
		fprintf(stderr, "  the GPU stages for this NIC: %s (%u)\n",
			p2pbuf_reason_str(pr.reason), pr.reason);
		fprintf(stderr, "  why/fix: %s\n", p2pbuf_reason_explain(pr.reason));
	}
	p2pbuf_nic_close(nic);
}

static int cmd_share(int argc, char **argv)
{
	struct drm_p2pgpu_attachment_info att;
	struct share_result res;
	struct share_hello h;
	struct p2pbuf_gpu *gpu = NULL;
	struct p2pbuf_bo *bo = NULL;
	struct p2pbuf_bo_state st;
	struct devs d;
	struct opts o;
	int sv[2], dmabuf = -1, status = 0, rc = EX_FAIL, att_err;
	struct dma_buf_sync sync;
	uint64_t i, bad = 0, first_bad = 0;
	char sz[32], sb[32];
	bool have_att = false;
	void *p;
	pid_t pid;
	ssize_t r;
	int ret;

	if (parse_opts("share", argc, argv, "json gpu nic size require-p2p", &o))
		return EX_USAGE;
	if (o.help) {
		printf("%s%s", share_help, exit_codes_text);
		return EX_OK;
	}
	if (!o.size)
		o.size = 16384;
	list_devs(&d);
	rc = need_devices(&d, &o);
	if (rc)
		return rc;
	if (o.gpu < 0)
		o.gpu = 0;
	if (o.nic < 0)
		o.nic = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		fprintf(stderr, "%s: socketpair: %s\n", prog, strerror(errno));
		return EX_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return EX_FAIL;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(share_child(sv[1], o.nic));
	}
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);

	/* Process A: the GPU side. */
#define FAIL(what, err) \
	do { \
		fprintf(stderr, "%s share: A (GPU process) could not %s: %s\n", prog, \
			what, p2pbuf_strerror(err)); \
		cli_hint(err, what); \
		rc = EX_FAIL; \
		goto out; \
	} while (0)
	ret = p2pbuf_gpu_open(o.gpu, &gpu);
	if (ret)
		FAIL("open the GPU", ret);
	ret = p2pbuf_bo_create(gpu, o.size, P2PGPU_PLACEMENT_VRAM, &bo);
	if (ret)
		FAIL("create the VRAM buffer", ret);
	/* poison it, so that stale contents cannot pass verification */
	ret = p2pbuf_bo_mmap(bo, &p);
	if (ret)
		FAIL("map the buffer for the CPU", ret);
	memset(p, 0xa5, bo->size);
	p2pbuf_bo_munmap(bo);
	ret = p2pbuf_bo_export(bo, &dmabuf);
	if (ret)
		FAIL("export the buffer as a dma-buf", ret);
	h.magic = SHARE_MAGIC;
	h.reg_flags = o.require_p2p ? P2PRDMA_REG_REQUIRE_P2P : 0;
	h.size = o.size;
	ret = p2pbuf_send_fd(sv[0], dmabuf, &h, sizeof(h));
	if (ret)
		FAIL("send the dma-buf fd to B", ret);
	if (!o.json) {
		printf("p2pctl share: gpu%d %s -> nic%d %s, %s\n", o.gpu, gpu->pci,
		       o.nic, d.nic[o.nic].pci, human(o.size, sz, sizeof(sz)));
		printf("  A (pid %d, GPU): created a %s VRAM buffer, exported it as dma-buf fd %d,\n"
		       "     sent it to B over a unix socket (SCM_RIGHTS)\n",
		       (int)getpid(), human(bo->size, sz, sizeof(sz)), dmabuf);
		fflush(stdout);
	}
	/* kept: A syncs the buffer through it before reading it back */

	r = p2pbuf_recv_fd(sv[0], NULL, &res, sizeof(res));
	if (r != (ssize_t)sizeof(res) || res.magic != SHARE_MAGIC) {
		fprintf(stderr, "%s share: B (NIC process) died or sent garbage (%s)\n",
			prog, r < 0 ? p2pbuf_strerror((int)r) : "short message");
		rc = EX_FAIL;
		goto out;
	}
	if (res.err) {
		fprintf(stderr, "%s share: B (pid %d, NIC) could not %s: %s\n", prog,
			res.pid, res.step, p2pbuf_strerror(res.err));
		if (res.err == -EREMOTEIO)
			share_explain_refusal(gpu, &res);
		else
			cli_hint(res.err, res.step);
		rc = EX_FAIL;
		goto out;
	}
	if (!o.json) {
		printf("  B (pid %d, NIC): received it as fd %d, registered it on %s (region %u),\n"
		       "     registered %s of user memory holding a test pattern (region %u),\n"
		       "     DMA'd it into the VRAM buffer in %.2f s; the NIC saw %s memory\n",
		       res.pid, res.recv_fd, res.nic_node, res.dmabuf_mr,
		       human(o.size, sz, sizeof(sz)), res.user_mr, res.ns / 1e9,
		       res.backing == P2PRDMA_BACKING_PEER ? "peer (the GPU's BAR)" :
		       p2pbuf_backing_str(res.backing));
		fflush(stdout);
	}
	/* how did the GPU hand the buffer to B's NIC? (while B still holds it) */
	att_err = p2pbuf_bo_find_attachment(bo, res.nic_pci, &att);
	have_att = !att_err;
	memset(&st, 0, sizeof(st));
	p2pbuf_bo_query(bo, &st, NULL, NULL);
	ret = p2pbuf_bo_mmap(bo, &p);
	if (ret)
		FAIL("map the buffer to verify it", ret);
	/*
	 * Between DMA_BUF_IOCTL_SYNCs, as the dma-buf contract asks: a staged
	 * mapping may bounce (swiotlb), only the sync brings B's DMA into
	 * the pages.
	 */
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	if (ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync))
		FAIL("sync the buffer for the CPU", -errno);
	for (i = 0; i < o.size; i++) {
		if (((uint8_t *)p)[i] != pattern(i)) {
			if (!bad++)
				first_bad = i;
		}
	}
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	if (ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync))
		FAIL("end the CPU's access to the buffer", -errno);
	/* let B deregister and exit */
	if (send(sv[0], "k", 1, MSG_NOSIGNAL) < 0) { /* B may be gone: fine */ }

	if (o.json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_obj(&j);
		json_kint(&j, "gpu", o.gpu);
		json_kint(&j, "nic", o.nic);
		json_kstr(&j, "gpu_pci", gpu->pci);
		json_kstr(&j, "nic_pci", res.nic_pci);
		json_kuint(&j, "size", o.size);
		json_kstr(&j, "decision", have_att ? p2pbuf_mapping_str(att.decision) : NULL);
		json_kstr(&j, "reason", have_att ? p2pbuf_reason_str(att.reason) : NULL);
		json_kint(&j, "reason_code", have_att ? (int64_t)att.reason : -1);
		json_kint(&j, "distance", have_att ? att.distance : -1);
		json_kstr(&j, "explanation", have_att ? p2pbuf_reason_explain(att.reason) : NULL);
		json_kstr(&j, "nic_backing", p2pbuf_backing_str(res.backing));
		json_kbool(&j, "require_p2p", o.require_p2p);
		json_kuint(&j, "bytes_via_system", res.bytes_via_system);
		json_kuint(&j, "mismatched_bytes", bad);
		json_kbool(&j, "verified", !bad);
		json_kstr(&j, "placement", st.placement == P2PGPU_RESIDENT_VRAM ? "vram" :
			  st.placement == P2PGPU_RESIDENT_SYSTEM ? "system" : "unknown");
		json_end_obj(&j);
		json_finish(&j);
	} else {
		if (bad)
			printf("  A: read the buffer back through its CPU mapping: %" PRIu64
			       " of %" PRIu64 " bytes DIFFER (first at offset %" PRIu64
			       ": 0x%02x, expected 0x%02x)\n", bad, o.size, first_bad,
			       ((uint8_t *)p)[first_bad], pattern(first_bad));
		else
			printf("  A: read the buffer back through its CPU mapping: all %" PRIu64
			       " bytes match\n", o.size);
		printf("\n");
		if (o.require_p2p)
			printf("Strict: peer-to-peer required (P2PRDMA_REG_REQUIRE_P2P) and granted\n");
		if (!have_att) {
			printf("Decision: unknown (the GPU driver lists no attachment for %s: %s)\n",
			       res.nic_pci, p2pbuf_strerror(att_err));
		} else if (att.decision == P2PGPU_MAPPING_P2P) {
			printf("Decision: PEER-TO-PEER (%s, route %s, PCI p2p distance %d)\n",
			       att.flags & P2PGPU_ATTACH_BUS_ADDR ? "by PCI bus address" :
			       "through the host bridge/IOMMU", route_str(att.flags),
			       att.distance);
			printf("          the NIC wrote straight into the GPU's VRAM; nothing to fix\n");
		} else {
			printf("Decision: STAGED through system memory (PCI p2p distance %d)\n",
			       att.distance);
			printf("Reason:   %s (%u)\n", p2pbuf_reason_str(att.reason), att.reason);
			print_wrapped("Why/fix:  ", p2pbuf_reason_explain(att.reason), 78);
		}
		printf("Bytes through system memory: %s of %s\n",
		       human(res.bytes_via_system, sb, sizeof(sb)),
		       human(o.size, sz, sizeof(sz)));
		printf("Result: %s\n", bad ? "FAILED: data mismatch" : "OK, data verified");
	}
	rc = bad ? EX_MISMATCH : EX_OK;
#undef FAIL
out:
	if (dmabuf >= 0)
		close(dmabuf);
	close(sv[0]);		/* unblocks B if it still waits */
	if (waitpid(pid, &status, 0) == pid && rc == EX_OK &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		fprintf(stderr, "%s share: B (NIC process) failed while cleaning up (status 0x%x)\n",
			prog, status);
		rc = EX_FAIL;
	}
	p2pbuf_bo_destroy(bo);
	p2pbuf_gpu_close(gpu);
	return rc;
}

/* ------------------------------------------------------------------ */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "devices", cmd_devices },
	{ "topology", cmd_topology },
	{ "explain", cmd_explain },
	{ "share", cmd_share },
	{ "bench", cmd_bench },
};

int main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fputs(main_help, stderr);
		fputs(exit_codes_text, stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(main_help, stdout);
		fputs(exit_codes_text, stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("p2pctl (p2pbuf) %s\n", p2pbuf_version());
		return EX_OK;
	}
	if (!strcmp(argv[1], "help")) {
		char *hv[] = { argv[0], "--help", NULL };

		if (argc < 3) {
			fputs(main_help, stdout);
			fputs(exit_codes_text, stdout);
			return EX_OK;
		}
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[2], commands[i].name))
				return commands[i].fn(2, hv);
		usage_err(NULL, "unknown command '%s'", argv[2]);
		return EX_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	usage_err(NULL, "unknown command '%s'", argv[1]);
	return EX_USAGE;
}
