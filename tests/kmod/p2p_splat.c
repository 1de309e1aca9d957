// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only trigger for the VM harness's self-test: writing to
 * /sys/kernel/debug/p2p_splat/warn fires a WARN, so `make check` can prove
 * that its kernel-log detector fails a run on a real splat. Never installed.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>

static struct dentry *p2p_splat_dir;

static ssize_t p2p_splat_warn_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	WARN(1, "p2p_splat: deliberate warning for the harness self-test\n");
	return count;
}

static const struct file_operations p2p_splat_warn_fops = {
	.owner = THIS_MODULE,
	.write = p2p_splat_warn_write,
};

static int __init p2p_splat_init(void)
{
	p2p_splat_dir = debugfs_create_dir("p2p_splat", NULL);
	debugfs_create_file("warn", 0200, p2p_splat_dir, NULL,
			    &p2p_splat_warn_fops);
	return 0;
}

static void __exit p2p_splat_exit(void)
{
	debugfs_remove_recursive(p2p_splat_dir);
}

module_init(p2p_splat_init);
module_exit(p2p_splat_exit);
MODULE_DESCRIPTION("p2pbuf test-only WARN trigger");
MODULE_LICENSE("GPL");
