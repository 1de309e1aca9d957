// SPDX-License-Identifier: GPL-2.0
/*
 * p2p_test_importer: a test-only dynamic dma-buf importer for the QEMU edu
 * PCI device (1234:11e8), so that an exporter is asked the peer-to-peer
 * question for a real PCI peer. Driven from userspace through
 * <debugfs>/p2p_test_importer/ctl: write a command, read its result.
 *
 *   attach <dma-buf fd> <allow_peer2peer 0|1> [mode]
 *                   -> "ret 0 slot N peer2peer P"; mode 0 (the default)
 *                   unmaps on move_notify, as an importer must; mode 1
 *                   ("stuck") counts move_notify and keeps its mapping, an
 *                   importer that breaks the revoke contract until told to
 *                   "unmap"; mode 2 ("not revocable") has no
 *                   invalidate_mappings at all (7.1+ only, else -EOPNOTSUPP)
 *   map <slot>      map under the dma_resv (re-map if mapped)
 *   unmap <slot>
 *   pin <slot> / unpin <slot>
 *   status <slot>   "ret 0 mapped M nents N bus B move_notify K maps C
 *                    peer2peer P", then "seg I ADDR LEN" lines
 *   vmapsum <slot>  "ret 0 sum S": the sum of the dma-buf's bytes, read
 *                    through dma_buf_vmap()
 *   vmapread <slot> <offset>  "ret 0 off O len L" and a line of 2L hex
 *                    digits: up to TI_VMAP_CHUNK bytes of the dma-buf from
 *                    @offset, read through dma_buf_vmap(), so that a test
 *                    can compare every byte
 *   detach <slot>
 *
 * Only DMA addresses are reported, never struct pages: DMABUF_DEBUG
 * scrambles the page links importers see. A move_notify unmaps, as a real
 * importer must, and is counted.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define TI_SLOTS	8
#define TI_MAX_SEGS	16
#define TI_VMAP_CHUNK	2048
/* a status report, or a vmapread line: two hex digits a byte */
#define TI_RESULT	(2 * TI_VMAP_CHUNK + 64)

/**
 * struct ti_slot - one attachment
 * @attach: the attachment, NULL when the slot is free.
 * @dmabuf: its dma-buf (a reference).
 * @sgt: the current mapping, protected by the dma-buf's dma_resv.
 * @move_notify: move_notify calls, protected by the dma_resv.
 * @maps: successful maps, protected by the dma_resv.
 * @pins: pins held.
 * @stuck: keeps its mapping on move_notify (mode 1).
 */
struct ti_slot {
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	unsigned int move_notify;
	unsigned int maps;
	unsigned int pins;
	bool stuck;
};

#define TI_MODE_UNMAPS		0
#define TI_MODE_STUCK		1
#define TI_MODE_NOT_REVOCABLE	2

static struct pci_dev *ti_pdev;
static struct dentry *ti_dir;
/* protects the slots' lifetime and the result; taken before any dma_resv */
static DEFINE_MUTEX(ti_lock);
static struct ti_slot ti_slots[TI_SLOTS];
static char ti_result[TI_RESULT];

static void ti_unmap_locked(struct ti_slot *slot)
{
	dma_resv_assert_held(slot->dmabuf->resv);
	if (!slot->sgt)
		return;
	dma_buf_unmap_attachment(slot->attach, slot->sgt, DMA_BIDIRECTIONAL);
	slot->sgt = NULL;
}

/* called with the dma_resv held: drop the mapping, the next map re-maps */
static void ti_move_notify(struct dma_buf_attachment *attach)
{
	struct ti_slot *slot = attach->importer_priv;

	slot->move_notify++;
	/* a broken importer: the exporter's revoke has to wait it out */
	if (!slot->stuck)
		ti_unmap_locked(slot);
}

static const struct dma_buf_attach_ops ti_ops_p2p = {
	.allow_peer2peer = true,
	.invalidate_mappings = ti_move_notify,
};

static const struct dma_buf_attach_ops ti_ops_no_p2p = {
	.allow_peer2peer = false,
	.invalidate_mappings = ti_move_notify,
};

#ifdef P2PBUF_HAVE_DMA_BUF_ATTACH_REVOCABLE
/* an importer without invalidate_mappings cannot be revoked (7.1+) */
static const struct dma_buf_attach_ops ti_ops_not_revocable = {
	.allow_peer2peer = true,
};
#endif

static struct ti_slot *ti_slot_get(unsigned int id)
{
	if (id >= TI_SLOTS || !ti_slots[id].attach)
		return NULL;
	return &ti_slots[id];
}

static int ti_attach(int fd, int p2p, int mode)
{
	const struct dma_buf_attach_ops *ops;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	unsigned int id;

	switch (mode) {
	case TI_MODE_UNMAPS:
	case TI_MODE_STUCK:
		ops = p2p ? &ti_ops_p2p : &ti_ops_no_p2p;
		break;
	case TI_MODE_NOT_REVOCABLE:
#ifdef P2PBUF_HAVE_DMA_BUF_ATTACH_REVOCABLE
		if (!p2p)
			return -EOPNOTSUPP;
		ops = &ti_ops_not_revocable;
		break;
#else
		/* before 7.1 a dynamic importer had to have move_notify */
		return -EOPNOTSUPP;
#endif
	default:
		return -EINVAL;
	}

	for (id = 0; id < TI_SLOTS; id++)
		if (!ti_slots[id].attach)
			break;
	if (id == TI_SLOTS)
		return -ENOSPC;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	memset(&ti_slots[id], 0, sizeof(ti_slots[id]));
	ti_slots[id].stuck = mode == TI_MODE_STUCK;
	attach = dma_buf_dynamic_attach(dmabuf, &ti_pdev->dev, ops,
					&ti_slots[id]);
	if (IS_ERR(attach)) {
		dma_buf_put(dmabuf);
		return PTR_ERR(attach);
	}
	ti_slots[id].attach = attach;
	ti_slots[id].dmabuf = dmabuf;
	scnprintf(ti_result, TI_RESULT, "ret 0 slot %u peer2peer %d\n", id,
		  attach->peer2peer);
	return 0;
}

static int ti_map(struct ti_slot *slot)
{
	struct sg_table *sgt;
	int ret = 0;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	ti_unmap_locked(slot);
	sgt = dma_buf_map_attachment(slot->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
	} else {
		slot->sgt = sgt;
		slot->maps++;
	}
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static void ti_status(struct ti_slot *slot)
{
	struct scatterlist *sg;
	size_t n;
	int i;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	n = scnprintf(ti_result, TI_RESULT,
		      "ret 0 mapped %d nents %u bus %d move_notify %u maps %u peer2peer %d\n",
		      !!slot->sgt, slot->sgt ? slot->sgt->nents : 0,
		      slot->sgt ? sg_dma_is_bus_address(slot->sgt->sgl) : 0,
		      slot->move_notify, slot->maps, slot->attach->peer2peer);
	if (slot->sgt) {
		for_each_sgtable_dma_sg(slot->sgt, sg, i) {
			if (i >= TI_MAX_SEGS)
				break;
			n += scnprintf(ti_result + n, TI_RESULT - n,
				       "seg %d %#llx %u\n", i,
				       (unsigned long long)sg_dma_address(sg),
				       sg_dma_len(sg));
		}
	}
	dma_resv_unlock(slot->dmabuf->resv);
}

static int ti_vmapsum(struct ti_slot *slot)
{
	struct iosys_map map;
	u8 chunk[256];
	size_t off, n;
	u64 sum = 0;
	int ret, i;

	dma_resv_lock(slot->dmabuf->resv, NULL);
	ret = dma_buf_vmap(slot->dmabuf, &map);
	if (!ret) {
		for (off = 0; off < slot->dmabuf->size; off += n) {
			n = min_t(size_t, sizeof(chunk), slot->dmabuf->size - off);
			iosys_map_memcpy_from(chunk, &map, off, n);
			for (i = 0; i < n; i++)
				sum += chunk[i];
		}
		dma_buf_vunmap(slot->dmabuf, &map);
	}
	dma_resv_unlock(slot->dmabuf->resv);
	if (!ret)
		scnprintf(ti_result, TI_RESULT, "ret 0 sum %llu\n", sum);
	return ret;
}

/* up to TI_VMAP_CHUNK bytes at @off of the vmapped dma-buf, in hex */
static int ti_vmapread(struct ti_slot *slot, int off)
{
	struct iosys_map map;
	u8 chunk[64];
	size_t n, len, i, done;
	int ret;

	if (off < 0 || (size_t)off >= slot->dmabuf->size)
		return -ERANGE;
	len = min_t(size_t, TI_VMAP_CHUNK, slot->dmabuf->size - off);

	dma_resv_lock(slot->dmabuf->resv, NULL);
	ret = dma_buf_vmap(slot->dmabuf, &map);
	if (!ret) {
		n = scnprintf(ti_result, TI_RESULT, "ret 0 off %d len %zu\n",
			      off, len);
		for (done = 0; done < len; done += sizeof(chunk)) {
			size_t c = min_t(size_t, sizeof(chunk), len - done);

			iosys_map_memcpy_from(chunk, &map, off + done, c);
			for (i = 0; i < c; i++)
				n += scnprintf(ti_result + n, TI_RESULT - n,
					       "%02x", chunk[i]);
		}
		scnprintf(ti_result + n, TI_RESULT - n, "\n");
		dma_buf_vunmap(slot->dmabuf, &map);
	}
	dma_resv_unlock(slot->dmabuf->resv);
	return ret;
}

static void ti_detach(struct ti_slot *slot)
{
	dma_resv_lock(slot->dmabuf->resv, NULL);
	ti_unmap_locked(slot);
	while (slot->pins) {
		dma_buf_unpin(slot->attach);
		slot->pins--;
	}
	dma_resv_unlock(slot->dmabuf->resv);
	dma_buf_detach(slot->dmabuf, slot->attach);
	dma_buf_put(slot->dmabuf);
	slot->attach = NULL;
	slot->dmabuf = NULL;
}

static int ti_command(char *cmd)
{
	struct ti_slot *slot;
	int a = -1, b = -1, c = 0, ret;
	char verb[16];

	if (sscanf(cmd, "%15s %d %d %d", verb, &a, &b, &c) < 2)
		return -EINVAL;

	if (!strcmp(verb, "attach"))
		return b < 0 ? -EINVAL : ti_attach(a, b, c);

	slot = ti_slot_get(a);
	if (!slot)
		return -ENOENT;

	if (!strcmp(verb, "map"))
		return ti_map(slot);
	if (!strcmp(verb, "unmap")) {
		dma_resv_lock(slot->dmabuf->resv, NULL);
		ti_unmap_locked(slot);
		dma_resv_unlock(slot->dmabuf->resv);
		return 0;
	}
	if (!strcmp(verb, "pin")) {
		dma_resv_lock(slot->dmabuf->resv, NULL);
		ret = dma_buf_pin(slot->attach);
		if (!ret)
			slot->pins++;
		dma_resv_unlock(slot->dmabuf->resv);
		return ret;
	}
	if (!strcmp(verb, "unpin")) {
		dma_resv_lock(slot->dmabuf->resv, NULL);
		ret = slot->pins ? 0 : -EINVAL;
		if (slot->pins) {
			dma_buf_unpin(slot->attach);
			slot->pins--;
		}
		dma_resv_unlock(slot->dmabuf->resv);
		return ret;
	}
	if (!strcmp(verb, "status")) {
		ti_status(slot);
		return 0;
	}
	if (!strcmp(verb, "vmapsum"))
		return ti_vmapsum(slot);
	if (!strcmp(verb, "vmapread"))
		return ti_vmapread(slot, b);
	if (!strcmp(verb, "detach")) {
		ti_detach(slot);
		return 0;
	}
	return -EINVAL;
}

static ssize_t ti_ctl_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *pos)
{
	char cmd[64];
	int ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';

	mutex_lock(&ti_lock);
	ti_result[0] = '\0';
	ret = ti_command(cmd);
	/* commands with a report wrote it; the others report their result */
	if (ret || !ti_result[0])
		scnprintf(ti_result, TI_RESULT, "ret %d\n", ret);
	mutex_unlock(&ti_lock);
	return ret ? ret : len;
}

static ssize_t ti_ctl_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *pos)
{
	ssize_t ret;

	mutex_lock(&ti_lock);
	ret = simple_read_from_buffer(ubuf, len, pos, ti_result,
				      strlen(ti_result));
	mutex_unlock(&ti_lock);
	return ret;
}

static const struct file_operations ti_ctl_fops = {
	.owner = THIS_MODULE,
	.write = ti_ctl_write,
	.read = ti_ctl_read,
	.llseek = default_llseek,
};

static int __init ti_init(void)
{
	/* the NIC of the test topologies; its DMA engine is not used */
	ti_pdev = pci_get_device(0x1234, 0x11e8, NULL);
	if (!ti_pdev)
		return -ENODEV;
	ti_dir = debugfs_create_dir("p2p_test_importer", NULL);
	debugfs_create_file("ctl", 0600, ti_dir, NULL, &ti_ctl_fops);
	return 0;
}

static void __exit ti_exit(void)
{
	unsigned int id;

	debugfs_remove_recursive(ti_dir);
	mutex_lock(&ti_lock);
	for (id = 0; id < TI_SLOTS; id++)
		if (ti_slots[id].attach)
			ti_detach(&ti_slots[id]);
	mutex_unlock(&ti_lock);
	pci_dev_put(ti_pdev);
}

module_init(ti_init);
module_exit(ti_exit);

MODULE_IMPORT_NS("DMA_BUF");
MODULE_DESCRIPTION("Test-only dynamic dma-buf importer for the edu PCI device");
MODULE_LICENSE("GPL");
