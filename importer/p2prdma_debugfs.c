// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma debugfs: <debugfs>/p2prdma/<name>/objects counts what a device
 * holds right now (open files, registered regions, dma-buf attachments and
 * their live mappings), so that tests can check nothing leaked.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "p2prdma.h"

static struct dentry *p2prdma_debugfs_root;

static int p2prdma_objects_show(struct seq_file *m, void *unused)
{
	struct p2prdma_nic *nic = m->private;

	seq_printf(m, "files %d\nregions %d\nattachments %d\nmappings %d\n",
		   atomic_read(&nic->open_files),
		   atomic_read(&nic->live_regions),
		   atomic_read(&nic->live_attachments),
		   atomic_read(&nic->live_mappings));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2prdma_objects);

/**
 * p2prdma_debugfs_init() - create <debugfs>/p2prdma at module load
 */
void p2prdma_debugfs_init(void)
{
	p2prdma_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
}

/**
 * p2prdma_debugfs_fini() - remove <debugfs>/p2prdma at module unload
 */
void p2prdma_debugfs_fini(void)
{
	debugfs_remove_recursive(p2prdma_debugfs_root);
}

/**
 * p2prdma_debugfs_add() - create the device's directory and its files
 * @nic: the device, named.
 */
void p2prdma_debugfs_add(struct p2prdma_nic *nic)
{
	nic->debugfs = debugfs_create_dir(nic->name, p2prdma_debugfs_root);
	debugfs_create_file("objects", 0444, nic->debugfs, nic,
			    &p2prdma_objects_fops);
	/* tests shorten it to reach the quarantine of a late DMA */
	debugfs_create_u32("engine_drain_ms", 0644, nic->debugfs,
			   &nic->drain_ms);
}

/**
 * p2prdma_debugfs_remove() - remove the device's directory
 * @nic: the device; returns once no reader is left in its files.
 */
void p2prdma_debugfs_remove(struct p2prdma_nic *nic)
{
	debugfs_remove_recursive(nic->debugfs);
	nic->debugfs = NULL;
}
