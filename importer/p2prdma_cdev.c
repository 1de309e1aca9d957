// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: the character device /dev/p2prdma<N> of a bound NIC and its
 * ioctls (regions, transfers, device info).
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "p2prdma.h"

static void p2prdma_file_destroy_regions(struct p2prdma_file *pfile)
{
	struct p2prdma_mr *mr;
	unsigned long index;

	lockdep_assert_held(&pfile->lock);
	xa_for_each(&pfile->regions, index, mr) {
		xa_erase(&pfile->regions, index);
		p2prdma_mr_destroy(mr);
	}
}

/**
 * p2prdma_open() - open /dev/p2prdma<N>: a new, empty set of regions
 * @inode: the device node.
 * @file: the file; private_data is our miscdevice on entry.
 *
 * Return: 0, -ENOMEM, or -ENODEV when the device is being removed.
 */
static int p2prdma_open(struct inode *inode, struct file *file)
{
	struct p2prdma_nic *nic = container_of(file->private_data,
						struct p2prdma_nic, misc);
	struct p2prdma_file *pfile;

	pfile = kzalloc_obj(*pfile, GFP_KERNEL);
	if (!pfile)
		return -ENOMEM;
	mutex_init(&pfile->lock);
	xa_init_flags(&pfile->regions, XA_FLAGS_ALLOC1);
	pfile->nic = nic;

	mutex_lock(&nic->lock);
	if (nic->dead) {
		mutex_unlock(&nic->lock);
		kfree(pfile);
		return -ENODEV;
	}
	list_add(&pfile->link, &nic->files);
	atomic_inc(&nic->open_files);
	kref_get(&nic->ref);
	mutex_unlock(&nic->lock);

	file->private_data = pfile;
	return nonseekable_open(inode, file);
}

/**
 * p2prdma_release() - last close: deregister every region of the file
 * @inode: the device node.
 * @file: the file.
 *
 * Return: 0.
 */
static int p2prdma_release(struct inode *inode, struct file *file)
{
	struct p2prdma_file *pfile = file->private_data;
	struct p2prdma_nic *nic = pfile->nic;

	/*
	 * Regions go while the file is still on the device's list: remove()
	 * walks that list and must not return while any of the file's DMA
	 * mappings or dma-buf attachments of its device still exist.
	 */
	mutex_lock(&pfile->lock);
	p2prdma_file_destroy_regions(pfile);
	mutex_unlock(&pfile->lock);

	mutex_lock(&nic->lock);
	list_del(&pfile->link);
	mutex_unlock(&nic->lock);

	xa_destroy(&pfile->regions);
	mutex_destroy(&pfile->lock);
	kfree(pfile);
	atomic_dec(&nic->open_files);
	p2prdma_nic_put(nic);
	return 0;
}

/*
 * Make a new region visible to userspace: give it a handle, stored at
 * @handle inside @args, and copy @args out. On failure the region is
 * destroyed, so a handle userspace never learnt cannot stay allocated.
 * File lock held.
 */
static int p2prdma_publish(struct p2prdma_file *pfile, struct p2prdma_mr *mr,
			   u32 *handle, void __user *uarg, const void *args,
			   size_t size)
{
	int ret;

	atomic_inc(&pfile->nic->live_regions);
	ret = xa_alloc(&pfile->regions, &mr->handle, mr, xa_limit_32b,
		       GFP_KERNEL);
	if (ret) {
		p2prdma_mr_destroy(mr);
		return ret == -EBUSY ? -ENOMEM : ret;
	}
	*handle = mr->handle;
	if (copy_to_user(uarg, args, size)) {
		xa_erase(&pfile->regions, mr->handle);
		p2prdma_mr_destroy(mr);
		return -EFAULT;
	}
	return 0;
}

/**
 * p2prdma_ioctl_reg_dmabuf_mr() - P2PRDMA_IOCTL_REG_DMABUF_MR
 * @pfile: the file; its lock is held.
 * @uarg: struct p2prdma_reg_dmabuf_mr.
 *
 * Return: 0 or the errno documented in the uapi header.
 */
static int p2prdma_ioctl_reg_dmabuf_mr(struct p2prdma_file *pfile,
				       void __user *uarg)
{
	struct p2prdma_reg_dmabuf_mr args;
	struct p2prdma_mr *mr;
	u64 end;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	/* a closed descriptor is -EBADF even when the rest is wrong too */
	if (args.fd < 0)
		return -EBADF;
	if (!args.length || args.access & ~P2PRDMA_ACCESS_ALL ||
	    args.flags & ~(P2PRDMA_REG_PINNED | P2PRDMA_REG_REQUIRE_P2P))
		return -EINVAL;
	if (check_add_overflow(args.offset, args.length, &end) ||
	    check_add_overflow(args.iova, args.length, &end))
		return -EOVERFLOW;
	if (offset_in_page(args.iova) != offset_in_page(args.offset))
		return -EINVAL;

	ret = p2prdma_reg_dmabuf(pfile->nic, &args, &mr, &pfile->refusal);
	if (ret)
		return ret;
	return p2prdma_publish(pfile, mr, &args.handle, uarg, &args,
			       sizeof(args));
}

/**
 * p2prdma_ioctl_reg_user_mr() - P2PRDMA_IOCTL_REG_USER_MR
 * @pfile: the file; its lock is held.
 * @uarg: struct p2prdma_reg_user_mr.
 *
 * Return: 0 or the errno documented in the uapi header.
 */
static int p2prdma_ioctl_reg_user_mr(struct p2prdma_file *pfile,
				     void __user *uarg)
{
	struct p2prdma_reg_user_mr args;
	struct p2prdma_mr *mr;
	u64 end;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (!args.length || args.access & ~P2PRDMA_ACCESS_ALL || args.flags ||
	    args.pad)
		return -EINVAL;
	if (check_add_overflow(args.addr, args.length, &end))
		return -EOVERFLOW;
	if (end > TASK_SIZE)
		return -EFAULT;
	/* more pages than the machine has can never be pinned */
	if (args.length >> PAGE_SHIFT >= totalram_pages())
		return -ENOMEM;

	ret = p2prdma_reg_user(pfile->nic, &args, &mr);
	if (ret)
		return ret;
	return p2prdma_publish(pfile, mr, &args.handle, uarg, &args,
			       sizeof(args));
}

/**
 * p2prdma_ioctl_dereg_mr() - P2PRDMA_IOCTL_DEREG_MR
 * @pfile: the file; its lock is held.
 * @uarg: struct p2prdma_dereg_mr.
 *
 * Return: 0, -EINVAL (unknown flags), -ENOENT (no such region on this
 * file).
 */
static int p2prdma_ioctl_dereg_mr(struct p2prdma_file *pfile,
				  void __user *uarg)
{
	struct p2prdma_dereg_mr args;
	struct p2prdma_mr *mr;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags)
		return -EINVAL;
	/*
	 * 0 is never a handle, and erasing index 0 of an XA_FLAGS_ALLOC1
	 * array would make it allocatable: the next region would get 0.
	 */
	if (!args.handle)
		return -ENOENT;
	mr = xa_erase(&pfile->regions, args.handle);
	if (!mr)
		return -ENOENT;
	p2prdma_mr_destroy(mr);
	return 0;
}

/**
 * p2prdma_ioctl_query_mr() - P2PRDMA_IOCTL_QUERY_MR
 * @pfile: the file; its lock is held.
 * @uarg: struct p2prdma_query_mr.
 *
 * A dma-buf region's mapping state is read under its reservation lock,
 * which move_notify also holds.
 *
 * Return: 0, -EINVAL (pad), -ENOENT, -EINTR.
 */
static int p2prdma_ioctl_query_mr(struct p2prdma_file *pfile,
				  void __user *uarg)
{
	struct p2prdma_query_mr args;
	struct p2prdma_mr *mr;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.pad)
		return -EINVAL;
	mr = xa_load(&pfile->regions, args.handle);
	if (!mr)
		return -ENOENT;

	if (mr->is_dmabuf) {
		ret = dma_resv_lock_interruptible(mr->dmabuf->resv, NULL);
		if (ret)
			return ret;
	}
	args.flags = 0;
	if (mr->is_dmabuf)
		args.flags |= P2PRDMA_MR_DMABUF;
	if (mr->pinned)
		args.flags |= P2PRDMA_MR_PINNED;
	if (mr->invalidated)
		args.flags |= P2PRDMA_MR_INVALIDATED;
	if (mr->mapped && mr->bus_addr)
		args.flags |= P2PRDMA_MR_BUS_ADDR;
	args.length = mr->length;
	args.iova = mr->iova;
	args.backing = mr->mapped ? mr->backing : P2PRDMA_BACKING_UNMAPPED;
	args.num_segments = mr->mapped ? mr->num_segments : 0;
	args.sg_entries = 0;
	if (mr->mapped)
		args.sg_entries = mr->is_dmabuf ? mr->sgt->nents :
						  mr->usgt.nents;
	args.map_count = mr->map_count;
	args.invalidate_count = mr->invalidate_count;
	if (mr->is_dmabuf)
		dma_resv_unlock(mr->dmabuf->resv);

	if (copy_to_user(uarg, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

/**
 * p2prdma_ioctl_transfer() - P2PRDMA_IOCTL_TRANSFER
 * @pfile: the file; its lock is held for the whole transfer, so neither
 * region can be deregistered under it.
 * @uarg: struct p2prdma_transfer.
 *
 * Return: 0 or the errno documented in the uapi header.
 */
static int p2prdma_ioctl_transfer(struct p2prdma_file *pfile,
				  void __user *uarg)
{
	struct p2prdma_transfer args;
	struct p2prdma_mr *src, *dst;
	u64 send, dend;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	dst = xa_load(&pfile->regions, args.dst_handle);
	src = xa_load(&pfile->regions, args.src_handle);
	if (!dst || !src)
		return -ENOENT;
	if (!args.length || args.flags ||
	    args.timeout_ms > P2PRDMA_TRANSFER_MAX_TIMEOUT_MS ||
	    !(dst->access & P2PRDMA_WRITE_ACCESS))
		return -EINVAL;
	if (check_add_overflow(args.src_offset, args.length, &send) ||
	    check_add_overflow(args.dst_offset, args.length, &dend))
		return -EOVERFLOW;
	if (send > src->length || dend > dst->length)
		return -ERANGE;

	ret = p2prdma_transfer(pfile->nic, dst, src, &args);
	/* report progress even when interrupted */
	if (copy_to_user(uarg, &args, sizeof(args)) && !ret)
		ret = -EFAULT;
	return ret;
}

/**
 * p2prdma_ioctl_device_info() - P2PRDMA_IOCTL_DEVICE_INFO
 * @nic: the device.
 * @uarg: struct p2prdma_device_info.
 *
 * Return: 0, -EINVAL (unknown flags) or -EFAULT.
 */
static int p2prdma_ioctl_device_info(struct p2prdma_nic *nic,
				     void __user *uarg)
{
	struct pci_dev *pci = nic->pci;
	struct p2prdma_device_info info;

	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	if (info.flags)
		return -EINVAL;
	info = (struct p2prdma_device_info){
		.pci_domain = pci_domain_nr(pci->bus),
		.pci_bus = pci->bus->number,
		.pci_devfn = pci->devfn,
		.dma_mask_bits = fls64(dma_get_mask(&pci->dev)),
		.live_regions = atomic_read(&nic->live_regions),
	};
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/**
 * p2prdma_ioctl_query_refusal() - P2PRDMA_IOCTL_QUERY_REFUSAL
 * @pfile: the file; its lock is held.
 * @uarg: struct p2prdma_refusal.
 *
 * Return: 0, -EINVAL (unknown flags) or -EFAULT.
 */
static int p2prdma_ioctl_query_refusal(struct p2prdma_file *pfile,
				       void __user *uarg)
{
	struct p2prdma_refusal args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags)
		return -EINVAL;
	if (copy_to_user(uarg, &pfile->refusal, sizeof(pfile->refusal)))
		return -EFAULT;
	return 0;
}

/**
 * p2prdma_ioctl() - dispatch an ioctl, serialized per file
 * @file: the file.
 * @cmd: P2PRDMA_IOCTL_*.
 * @arg: user pointer to the command's struct.
 *
 * Return: the handler's result, -ENOTTY for unknown commands, -ENODEV once
 * the device is gone.
 */
static long p2prdma_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct p2prdma_file *pfile = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	ret = mutex_lock_interruptible(&pfile->lock);
	if (ret)
		return ret;
	if (pfile->dead) {
		ret = -ENODEV;
		goto unlock_file;
	}

	switch (cmd) {
	case P2PRDMA_IOCTL_REG_DMABUF_MR:
		ret = p2prdma_ioctl_reg_dmabuf_mr(pfile, uarg);
		break;
	case P2PRDMA_IOCTL_REG_USER_MR:
		ret = p2prdma_ioctl_reg_user_mr(pfile, uarg);
		break;
	case P2PRDMA_IOCTL_DEREG_MR:
		ret = p2prdma_ioctl_dereg_mr(pfile, uarg);
		break;
	case P2PRDMA_IOCTL_QUERY_MR:
		ret = p2prdma_ioctl_query_mr(pfile, uarg);
		break;
	case P2PRDMA_IOCTL_TRANSFER:
		ret = p2prdma_ioctl_transfer(pfile, uarg);
		break;
	case P2PRDMA_IOCTL_DEVICE_INFO:
		ret = p2prdma_ioctl_device_info(pfile->nic, uarg);
		break;
	case P2PRDMA_IOCTL_QUERY_REFUSAL:
		ret = p2prdma_ioctl_query_refusal(pfile, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}

unlock_file:
	mutex_unlock(&pfile->lock);
	return ret;
}

static const struct file_operations p2prdma_fops = {
	.owner = THIS_MODULE,
	.open = p2prdma_open,
	.release = p2prdma_release,
	.unlocked_ioctl = p2prdma_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * p2prdma_cdev_register() - create /dev/p2prdma<N>
 * @nic: the NIC, its engine ready.
 *
 * Return: 0 or a negative errno from misc_register().
 */
int p2prdma_cdev_register(struct p2prdma_nic *nic)
{
	nic->misc.minor = MISC_DYNAMIC_MINOR;
	nic->misc.name = nic->name;
	nic->misc.fops = &p2prdma_fops;
	nic->misc.parent = &nic->pci->dev;
	/*
	 * Owner and group only: udev gives the node to group "rdma" (see
	 * the README), as distributions do for RDMA devices.
	 */
	nic->misc.mode = 0660;
	return misc_register(&nic->misc);
}

/**
 * p2prdma_cdev_unregister() - remove /dev/p2prdma<N> and empty its files
 * @nic: the NIC being unbound.
 *
 * Files may stay open; they answer -ENODEV from now on. Every region's
 * mapping is for the NIC's struct device, so all of them are gone when
 * this returns.
 */
void p2prdma_cdev_unregister(struct p2prdma_nic *nic)
{
	struct p2prdma_file *pfile;

	/* no new opens; files still open lose their regions and get -ENODEV */
	misc_deregister(&nic->misc);
	mutex_lock(&nic->lock);
	nic->dead = true;
	list_for_each_entry(pfile, &nic->files, link) {
		mutex_lock(&pfile->lock);
		pfile->dead = true;
		p2prdma_file_destroy_regions(pfile);
		mutex_unlock(&pfile->lock);
	}
	mutex_unlock(&nic->lock);
}
