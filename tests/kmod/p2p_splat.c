// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only triggers for the VM harness's self-test (the `detector`
 * topology): one debugfs file per kind of kernel report that `make check`
 * claims to catch. Writing to /sys/kernel/debug/p2p_splat/<kind> makes the
 * kernel's own debugger report a real bug of that kind, so the run proves
 * that each report reaches the judge and fails a run. Never installed.
 *
 *   warn          WARN()
 *   kasan         an out-of-bounds read of a kmalloc() object
 *   lockdep       two locks taken in both orders (AB-BA) by one thread
 *   kmemleak      a kmalloc() object whose only pointer is dropped
 *   dma-api       dma_unmap_single() of an address that was never mapped
 *   atomic-sleep  might_sleep() with preemption disabled
 */
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/preempt.h>
#include <linux/slab.h>

static struct dentry *p2p_splat_dir;
static struct platform_device *p2p_splat_pdev;

/* Two lock classes: a static mutex is a class of its own for lockdep. */
static DEFINE_MUTEX(p2p_splat_lock_a);
static DEFINE_MUTEX(p2p_splat_lock_b);

/* The leaked object's address passes through here on its way to nowhere. */
static void *p2p_splat_leak_slot;

/**
 * p2p_splat_warn() - WARN(), the report every other kind also carries
 */
static void p2p_splat_warn(void)
{
	WARN(1, "p2p_splat: deliberate warning for the harness self-test\n");
}

/**
 * p2p_splat_kasan() - KASAN: one byte read past the end of a kmalloc() object
 */
static void p2p_splat_kasan(void)
{
	size_t size = 17;
	u8 *p = kmalloc(size, GFP_KERNEL);

	if (!p)
		return;
	/* hidden from the compiler, so the read is neither folded nor dropped */
	OPTIMIZER_HIDE_VAR(size);
	pr_info("p2p_splat: reading byte %zu of a %zu-byte object: %u\n",
		size, size, READ_ONCE(p[size]));
	kfree(p);
}

/**
 * p2p_splat_lockdep() - lockdep: a circular locking dependency (AB, then BA)
 */
static void p2p_splat_lockdep(void)
{
	mutex_lock(&p2p_splat_lock_a);
	mutex_lock(&p2p_splat_lock_b);
	mutex_unlock(&p2p_splat_lock_b);
	mutex_unlock(&p2p_splat_lock_a);

	/*
	 * The reverse order: one thread cannot deadlock with itself here, but
	 * lockdep reports the cycle it closes in its dependency graph.
	 */
	mutex_lock(&p2p_splat_lock_b);
	mutex_lock(&p2p_splat_lock_a);
	mutex_unlock(&p2p_splat_lock_a);
	mutex_unlock(&p2p_splat_lock_b);
}

/**
 * p2p_splat_kmemleak() - kmemleak: an allocation nothing points at any more
 *
 * kmemleak reports it in the first scan at least 5 s later.
 */
static void p2p_splat_kmemleak(void)
{
	/*
	 * Stored and overwritten through WRITE_ONCE so the allocation is not
	 * optimised away; afterwards no memory kmemleak scans points at it.
	 */
	WRITE_ONCE(p2p_splat_leak_slot, kmalloc(1234, GFP_KERNEL));
	pr_info("p2p_splat: leaking a 1234-byte object\n");
	WRITE_ONCE(p2p_splat_leak_slot, NULL);
}

/**
 * p2p_splat_dma_api() - DMA-API debugging: unmapping what was never mapped
 */
static void p2p_splat_dma_api(void)
{
	/* an address no one mapped: DMA-API debugging has no entry for it */
	dma_unmap_single(&p2p_splat_pdev->dev, 0x1000, 64, DMA_TO_DEVICE);
}

/**
 * p2p_splat_atomic_sleep() - "sleeping function called from invalid context"
 */
static void p2p_splat_atomic_sleep(void)
{
	/* the check a sleeping function makes, without sleeping */
	preempt_disable();
	might_sleep();
	preempt_enable();
}

struct p2p_splat_kind {
	const char *name;
	void (*fire)(void);
};

static const struct p2p_splat_kind p2p_splat_kinds[] = {
	{ "warn", p2p_splat_warn },
	{ "kasan", p2p_splat_kasan },
	{ "lockdep", p2p_splat_lockdep },
	{ "kmemleak", p2p_splat_kmemleak },
	{ "dma-api", p2p_splat_dma_api },
	{ "atomic-sleep", p2p_splat_atomic_sleep },
};

static ssize_t p2p_splat_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	const struct p2p_splat_kind *kind = file->private_data;

	kind->fire();
	return count;
}

static const struct file_operations p2p_splat_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = p2p_splat_write,
};

static int __init p2p_splat_init(void)
{
	struct platform_device_info info = {
		.name = "p2p_splat",
		.id = PLATFORM_DEVID_NONE,
		.dma_mask = DMA_BIT_MASK(32),
	};
	unsigned int i;

	/* a device with a DMA mask, for the DMA API's checks to be about */
	p2p_splat_pdev = platform_device_register_full(&info);
	if (IS_ERR(p2p_splat_pdev))
		return PTR_ERR(p2p_splat_pdev);

	p2p_splat_dir = debugfs_create_dir("p2p_splat", NULL);
	for (i = 0; i < ARRAY_SIZE(p2p_splat_kinds); i++)
		debugfs_create_file(p2p_splat_kinds[i].name, 0200,
				    p2p_splat_dir,
				    (void *)&p2p_splat_kinds[i],
				    &p2p_splat_fops);
	return 0;
}

static void __exit p2p_splat_exit(void)
{
	debugfs_remove_recursive(p2p_splat_dir);
	platform_device_unregister(p2p_splat_pdev);
}

module_init(p2p_splat_init);
module_exit(p2p_splat_exit);
MODULE_DESCRIPTION("p2pbuf test-only triggers of each kind of kernel report");
MODULE_LICENSE("GPL");
