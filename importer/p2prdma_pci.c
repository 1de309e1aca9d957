// SPDX-License-Identifier: GPL-2.0
/*
 * p2prdma: an RDMA-NIC-like importer of dma-bufs on QEMU's edu device.
 * The module and its PCI binding: probe, remove, the NIC's lifetime.
 */
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "p2prdma.h"

MODULE_IMPORT_NS("DMA_BUF");

#define EDU_VENDOR_ID	0x1234
#define EDU_DEVICE_ID	0x11e8

static DEFINE_IDA(p2prdma_ida);

static void p2prdma_nic_release(struct kref *ref)
{
	struct p2prdma_nic *nic = container_of(ref, struct p2prdma_nic, ref);

	ida_free(&p2prdma_ida, nic->id);
	pci_dev_put(nic->pci);
	kfree(nic);
}

/**
 * p2prdma_nic_put() - drop a reference on a NIC
 * @nic: the NIC; freed with its last reference (binding and open files).
 */
void p2prdma_nic_put(struct p2prdma_nic *nic)
{
	kref_put(&nic->ref, p2prdma_nic_release);
}

/**
 * p2prdma_probe() - bind an edu function and create its character device
 * @pci: the function.
 * @id: matched entry.
 *
 * Return: 0 or a negative errno.
 */
static int p2prdma_probe(struct pci_dev *pci, const struct pci_device_id *id)
{
	struct p2prdma_nic *nic;
	int ret;

	/* driver_override hands any device to us: only edu has our engine */
	if (pci->vendor != EDU_VENDOR_ID || pci->device != EDU_DEVICE_ID)
		return -ENODEV;

	ret = pcim_enable_device(pci);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pci, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;

	nic = kzalloc_obj(*nic, GFP_KERNEL);
	if (!nic)
		return -ENOMEM;
	kref_init(&nic->ref);
	mutex_init(&nic->lock);
	INIT_LIST_HEAD(&nic->files);
	atomic_set(&nic->live_regions, 0);
	nic->pci = pci_dev_get(pci);
	nic->mmio = pcim_iomap_table(pci)[0];

	ret = ida_alloc(&p2prdma_ida, GFP_KERNEL);
	if (ret < 0) {
		pci_dev_put(pci);
		kfree(nic);
		return ret;
	}
	nic->id = ret;
	snprintf(nic->name, sizeof(nic->name), "p2prdma%d", nic->id);

	ret = p2prdma_engine_init(nic);
	if (ret)
		goto put_dev;

	ret = p2prdma_cdev_register(nic);
	if (ret)
		goto fini_engine;

	pci_set_drvdata(pci, nic);
	p2prdma_debugfs_add(nic);
	dev_info(&pci->dev, "%s\n", nic->name);
	return 0;

fini_engine:
	p2prdma_engine_fini(nic);
put_dev:
	p2prdma_nic_put(nic);
	return ret;
}

/**
 * p2prdma_remove() - unbind: tear down every region of every open file
 * @pci: the function.
 *
 * Files may stay open; they answer -ENODEV from now on. Every mapping is
 * for @pci's struct device, so all of them must go before we return.
 */
static void p2prdma_remove(struct pci_dev *pci)
{
	struct p2prdma_nic *nic = pci_get_drvdata(pci);

	p2prdma_debugfs_remove(nic);
	p2prdma_cdev_unregister(nic);
	p2prdma_engine_fini(nic);
	p2prdma_nic_put(nic);
}

/*
 * QEMU's edu is a teaching device other drivers bind too: p2prdma binds one
 * only when it is handed it with driver_override, never on its own, and has
 * no MODULE_DEVICE_TABLE, so nothing loads it for a device it would not bind.
 */
static const struct pci_device_id p2prdma_ids[] = {
	{ PCI_DEVICE_DRIVER_OVERRIDE(EDU_VENDOR_ID, EDU_DEVICE_ID, true) },
	{ }
};

static struct pci_driver p2prdma_driver = {
	.name = KBUILD_MODNAME,
	.id_table = p2prdma_ids,
	.probe = p2prdma_probe,
	.remove = p2prdma_remove,
};

static int __init p2prdma_init(void)
{
	int ret;

	p2prdma_debugfs_init();
	ret = pci_register_driver(&p2prdma_driver);
	if (ret)
		p2prdma_debugfs_fini();
	return ret;
}
module_init(p2prdma_init);

static void __exit p2prdma_exit(void)
{
	pci_unregister_driver(&p2prdma_driver);
	p2prdma_debugfs_fini();
}
module_exit(p2prdma_exit);

MODULE_DESCRIPTION("RDMA-like dma-buf importer on QEMU's edu device");
MODULE_LICENSE("GPL");
