// SPDX-License-Identifier: GPL-2.0
/*
 * linhv.ko: the hypervisor. Module entry points and /dev/linhv, the root
 * partition's door to the hypercall-shaped ioctl interface.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "linhv_internal.h"

/*
 * Hypercalls that are not bound to a partition: only partition creation.
 * Everything else is issued on the partition fd it creates.
 */
static long linhv_dev_hvcall(struct linhv_hvcall __user *uarg)
{
	struct linhv_hvcall hc;
	long ret;

	if (copy_from_user(&hc, uarg, sizeof(hc)))
		return -EFAULT;
	if (hc.flags || hc.in_size > LINHV_HVCALL_MAX_INPUT ||
	    hc.out_size > LINHV_HVCALL_MAX_OUTPUT)
		return -EINVAL;

	hc.reps_done = 0;
	switch (hc.code) {
	case HvCallCreatePartition:
		ret = linhv_partition_create(&hc);
		break;
	default:
		hc.status = HV_STATUS_INVALID_HYPERCALL_CODE;
		ret = 0;
		break;
	}
	if (ret)
		return ret;
	if (copy_to_user(uarg, &hc, sizeof(hc)))
		return -EFAULT;
	return 0;
}

static long linhv_dev_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LINHV_GET_API_VERSION:
		return LINHV_API_VERSION;
	case LINHV_GET_CAPABILITIES:
		if (copy_to_user(uarg, &linhv_host_caps, sizeof(linhv_host_caps)))
			return -EFAULT;
		return 0;
	case LINHV_HVCALL:
		return linhv_dev_hvcall(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations linhv_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = linhv_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice linhv_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "linhv",
	.fops = &linhv_dev_fops,
	.mode = 0600,
};

static int __init linhv_init(void)
{
	int ret;

	ret = linhv_caps_probe();
	if (ret)
		return ret;
	ret = linhv_arch_init();
	if (ret)
		return ret;
	ret = misc_register(&linhv_miscdev);
	if (ret) {
		linhv_arch_exit();
		return ret;
	}
	pr_info("linhv: %s hypervisor ready (API %d), /dev/linhv created\n",
		linhv_host_caps.vendor == LINHV_VENDOR_SVM ? "AMD-V" : "VT-x",
		LINHV_API_VERSION);
	return 0;
}

static void __exit linhv_exit(void)
{
	misc_deregister(&linhv_miscdev);
	linhv_arch_exit();
	pr_info("linhv: unloaded\n");
}

module_init(linhv_init);
module_exit(linhv_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("linhv: a Hyper-V style hypervisor for Linux hosts");
