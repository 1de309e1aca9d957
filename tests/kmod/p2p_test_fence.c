// SPDX-License-Identifier: GPL-2.0
/*
 * p2p_test_fence: test-only fences that userspace signals, for the fence
 * tests of p2pbuf_fences. Driven through <debugfs>/p2p_test_fence/ctl:
 * write a command, read its result.
 *
 *   add <dma-buf fd> <usage>  add a new unsignalled fence to the dma-buf's
 *                             reservation object with that dma_resv_usage
 *                             (0 KERNEL, 1 WRITE, 2 READ, 3 BOOKKEEP)
 *                             -> "ret 0 fence N"
 *   syncfile                  a new unsignalled fence as a sync_file, a new
 *                             descriptor of the writer -> "ret 0 fence N fd F"
 *   signal <N>                signal fence N
 *   status <N>                "ret 0 signaled S"
 *   reset                     signal every fence still unsignalled
 *
 * A KERNEL fence is what an exporter with a copy engine leaves behind a move
 * still in progress; userspace cannot add one (IMPORT_SYNC_FILE adds READ or
 * WRITE fences), hence this module. The sync_file serves kernels without
 * CONFIG_SW_SYNC (Debian's). Each fence holds a module reference until its
 * last reference is gone, so the module cannot go while a reservation
 * object or a sync_file still holds one of its fences.
 */
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sync_file.h>
#include <linux/uaccess.h>

#define TF_FENCES	32
#define TF_RESULT	128

static struct dentry *tf_dir;
/* protects the fence slots, the sequence number and the result */
static DEFINE_MUTEX(tf_lock);
/* the fences' own lock, for dma_fence's signalling */
static DEFINE_SPINLOCK(tf_fence_lock);
static struct dma_fence *tf_fences[TF_FENCES];
static u64 tf_context;
static u64 tf_seqno;
static char tf_result[TF_RESULT];

static const char *tf_driver_name(struct dma_fence *fence)
{
	return "p2p_test_fence";
}

static const char *tf_timeline_name(struct dma_fence *fence)
{
	return "p2p_test_fence";
}

static void tf_release(struct dma_fence *fence)
{
	dma_fence_free(fence);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops tf_fence_ops = {
	.get_driver_name = tf_driver_name,
	.get_timeline_name = tf_timeline_name,
	.release = tf_release,
};

/* a new unsignalled fence in a free slot; tf_lock held */
static int tf_fence_new(struct dma_fence **out)
{
	struct dma_fence *fence;
	int id;

	for (id = 0; id < TF_FENCES; id++)
		if (!tf_fences[id])
			break;
	if (id == TF_FENCES)
		return -ENOSPC;
	fence = kzalloc_obj(*fence, GFP_KERNEL);
	if (!fence)
		return -ENOMEM;
	/* dropped by tf_release(), whoever holds the last reference */
	__module_get(THIS_MODULE);
	dma_fence_init(fence, &tf_fence_ops, &tf_fence_lock, tf_context,
		       ++tf_seqno);
	tf_fences[id] = fence;
	*out = fence;
	return id;
}

static void tf_fence_drop(int id)
{
	dma_fence_signal(tf_fences[id]);
	dma_fence_put(tf_fences[id]);
	tf_fences[id] = NULL;
}

static int tf_add(int fd, int usage)
{
	struct dma_fence *fence;
	struct dma_buf *dmabuf;
	int id, ret;

	if (usage < DMA_RESV_USAGE_KERNEL || usage > DMA_RESV_USAGE_BOOKKEEP)
		return -EINVAL;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	ret = dma_resv_lock_interruptible(dmabuf->resv, NULL);
	if (ret)
		goto put_dmabuf;
	ret = dma_resv_reserve_fences(dmabuf->resv, 1);
	if (ret)
		goto unlock_resv;
	id = tf_fence_new(&fence);
	if (id < 0) {
		ret = id;
		goto unlock_resv;
	}
	dma_resv_add_fence(dmabuf->resv, fence, usage);
	scnprintf(tf_result, TF_RESULT, "ret 0 fence %d\n", id);

unlock_resv:
	dma_resv_unlock(dmabuf->resv);
put_dmabuf:
	dma_buf_put(dmabuf);
	return ret;
}

static int tf_syncfile(void)
{
	struct sync_file *sync_file;
	struct dma_fence *fence;
	int id, fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	id = tf_fence_new(&fence);
	if (id < 0) {
		put_unused_fd(fd);
		return id;
	}
	sync_file = sync_file_create(fence);
	if (!sync_file) {
		tf_fence_drop(id);
		put_unused_fd(fd);
		return -ENOMEM;
	}
	fd_install(fd, sync_file->file);
	scnprintf(tf_result, TF_RESULT, "ret 0 fence %d fd %d\n", id, fd);
	return 0;
}

static int tf_command(char *cmd)
{
	char verb[16];
	int a = -1, b = -1, n;

	n = sscanf(cmd, "%15s %d %d", verb, &a, &b);
	if (n < 1)
		return -EINVAL;
	if (!strcmp(verb, "syncfile"))
		return tf_syncfile();
	if (!strcmp(verb, "add"))
		return n < 3 ? -EINVAL : tf_add(a, b);
	if (!strcmp(verb, "reset")) {
		for (n = 0; n < TF_FENCES; n++)
			if (tf_fences[n])
				tf_fence_drop(n);
		return 0;
	}
	if (n < 2 || a < 0 || a >= TF_FENCES || !tf_fences[a])
		return -ENOENT;
	if (!strcmp(verb, "signal")) {
		tf_fence_drop(a);
		return 0;
	}
	if (!strcmp(verb, "status")) {
		scnprintf(tf_result, TF_RESULT, "ret 0 signaled %d\n",
			  dma_fence_is_signaled(tf_fences[a]));
		return 0;
	}
	return -EINVAL;
}

static ssize_t tf_ctl_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *pos)
{
	char cmd[64];
	int ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';

	mutex_lock(&tf_lock);
	tf_result[0] = '\0';
	ret = tf_command(cmd);
	/* commands with a report wrote it; the others report their result */
	if (ret || !tf_result[0])
		scnprintf(tf_result, TF_RESULT, "ret %d\n", ret);
	mutex_unlock(&tf_lock);
	return ret ? ret : len;
}

static ssize_t tf_ctl_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *pos)
{
	ssize_t ret;

	mutex_lock(&tf_lock);
	ret = simple_read_from_buffer(ubuf, len, pos, tf_result,
				      strlen(tf_result));
	mutex_unlock(&tf_lock);
	return ret;
}

static const struct file_operations tf_ctl_fops = {
	.owner = THIS_MODULE,
	.write = tf_ctl_write,
	.read = tf_ctl_read,
	.llseek = default_llseek,
};

static int __init tf_init(void)
{
	tf_context = dma_fence_context_alloc(1);
	tf_dir = debugfs_create_dir("p2p_test_fence", NULL);
	debugfs_create_file("ctl", 0600, tf_dir, NULL, &tf_ctl_fops);
	return 0;
}

/* no fence is left: each one holds a module reference */
static void __exit tf_exit(void)
{
	debugfs_remove_recursive(tf_dir);
}

module_init(tf_init);
module_exit(tf_exit);

MODULE_IMPORT_NS("DMA_BUF");
MODULE_DESCRIPTION("Test-only fences signalled from userspace");
MODULE_LICENSE("GPL");
