// SPDX-License-Identifier: GPL-2.0
/*
 * Partitions. Each partition is an anonymous fd created by
 * HvCallCreatePartition; every other root hypercall is issued on it. Closing
 * the fd (or the owner dying) deletes the partition once its VP fds, which
 * hold references to it, are closed too.
 */
#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "linhv_internal.h"

static atomic64_t next_partition_id = ATOMIC64_INIT(1);
static atomic_t nr_partitions = ATOMIC_INIT(0);

static int part_release(struct inode *inode, struct file *filp)
{
	struct linhv_partition *part = filp->private_data;

	/* VP fds hold a file reference, so every VP is gone by now. */
	linhv_partition_hv_destroy(part);
	linhv_iommu_destroy(part);
	linhv_memory_destroy(part);
	linhv_npt_destroy(&part->npt);
	kvfree(part->cpuid);
	kvfree(part->io_claimed);
	kfree(part);
	atomic_dec(&nr_partitions);
	module_put(THIS_MODULE);
	return 0;
}

static u16 set_cpuid_policy(struct linhv_partition *part, const void *in, u32 in_size, u32 reps)
{
	const struct linhv_cpuid_entry *e = in;
	struct linhv_cpuid_policy *pol;
	u32 i;

	if (reps > LINHV_MAX_CPUID_ENTRIES || in_size != reps * sizeof(*e))
		return HV_STATUS_INVALID_PARAMETER;
	for (i = 0; i < reps; i++) {
		if (e[i].flags & ~(LINHV_CPUID_SUBLEAF_ANY | LINHV_CPUID_FORWARD) || e[i].reserved)
			return HV_STATUS_INVALID_PARAMETER;
	}
	pol = kvzalloc(sizeof(*pol), GFP_KERNEL_ACCOUNT);
	if (!pol)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	pol->count = reps;
	memcpy(pol->entries, e, in_size);
	mutex_lock(&part->lock);
	/* A running VP reads the policy without a lock: never free it under one. */
	if (part->initialized || part->started) {
		mutex_unlock(&part->lock);
		kvfree(pol);
		return HV_STATUS_INVALID_PARTITION_STATE;
	}
	kvfree(part->cpuid);
	part->cpuid = pol;
	mutex_unlock(&part->lock);
	return HV_STATUS_SUCCESS;
}

static u16 set_msr_forward(struct linhv_partition *part, const void *in, u32 in_size, u32 reps)
{
	if (reps > LINHV_MAX_MSR_FORWARD || in_size != reps * sizeof(u32))
		return HV_STATUS_INVALID_PARAMETER;
	mutex_lock(&part->lock);
	if (part->initialized || part->started) {
		mutex_unlock(&part->lock);
		return HV_STATUS_INVALID_PARTITION_STATE;
	}
	memcpy(part->msr_forward, in, in_size);
	part->nr_msr_forward = reps;
	mutex_unlock(&part->lock);
	return HV_STATUS_SUCCESS;
}

static u16 set_io_port_policy(struct linhv_partition *part, const void *in, u32 in_size,
			      u32 reps)
{
	const struct linhv_io_port_range *r = in;
	unsigned long *map;
	u32 i;

	if (reps > LINHV_MAX_IO_PORT_RANGES || in_size != reps * sizeof(*r))
		return HV_STATUS_INVALID_PARAMETER;
	for (i = 0; i < reps; i++) {
		if (!r[i].count || r[i].reserved || (u32)r[i].base + r[i].count > 0x10000)
			return HV_STATUS_INVALID_PARAMETER;
	}
	map = kvzalloc(BITS_TO_LONGS(0x10000) * sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!map)
		return HV_STATUS_INSUFFICIENT_MEMORY;
	for (i = 0; i < reps; i++)
		bitmap_set(map, r[i].base, r[i].count);
	mutex_lock(&part->lock);
	/* Running VPs read the map without a lock: only before the first run. */
	if (part->initialized || part->started) {
		mutex_unlock(&part->lock);
		kvfree(map);
		return HV_STATUS_INVALID_PARTITION_STATE;
	}
	kvfree(part->io_claimed);
	part->io_claimed = map;
	mutex_unlock(&part->lock);
	return HV_STATUS_SUCCESS;
}

static struct linhv_vp *get_vp(struct linhv_partition *part, u32 index)
{
	if (index >= LINHV_MAX_VPS)
		return NULL;
	return READ_ONCE(part->vps[array_index_nospec(index, LINHV_MAX_VPS)]);
}

/*
 * Take VP index's mutex for a register call. The VP is held by its file, not
 * by part->lock: a running VP may need part->lock (IPIs, synthetic MSRs)
 * before it gives up its mutex. Returns an HV_STATUS.
 */
static u16 lock_vp(struct linhv_partition *part, u32 index, struct linhv_vp **out)
{
	struct linhv_vp *vp;

	mutex_lock(&part->lock);
	vp = get_vp(part, index);
	/* A VP whose last fd is being closed is gone: its file must not come back. */
	if (!vp || !get_file_rcu(vp->file)) {
		mutex_unlock(&part->lock);
		return HV_STATUS_INVALID_VP_INDEX;
	}
	mutex_unlock(&part->lock);
	if (mutex_lock_interruptible(&vp->mutex)) {
		fput(vp->file);
		return HV_STATUS_INVALID_VP_STATE;
	}
	*out = vp;
	return HV_STATUS_SUCCESS;
}

static void unlock_vp(struct linhv_vp *vp)
{
	mutex_unlock(&vp->mutex);
	fput(vp->file);
}

static u16 get_vp_registers(struct linhv_partition *part, struct linhv_hvcall *hc,
			    const void *in, void *out)
{
	const struct linhv_in_vp_registers *hdr = in;
	struct linhv_vp *vp;
	int ret;

	if (hc->in_size != sizeof(*hdr) + hc->rep_count * sizeof(u32) ||
	    hc->out_size != hc->rep_count * sizeof(union hv_register_value) ||
	    hc->rep_count > LINHV_MAX_REGISTERS)
		return HV_STATUS_INVALID_PARAMETER;
	ret = lock_vp(part, hdr->vp_index, &vp);
	if (ret)
		return ret;
	ret = linhv_vp_get_registers(vp, (const u32 *)(hdr + 1), out, hc->rep_count);
	unlock_vp(vp);
	if (ret >= 0)
		hc->reps_done = hc->rep_count;
	return ret < 0 ? HV_STATUS_INVALID_PARAMETER : ret;
}

static u16 set_vp_registers(struct linhv_partition *part, struct linhv_hvcall *hc, const void *in)
{
	const struct linhv_in_vp_registers *hdr = in;
	struct linhv_vp *vp;
	int ret;

	if (hc->in_size != sizeof(*hdr) + hc->rep_count * sizeof(struct hv_register_assoc) ||
	    hc->rep_count > LINHV_MAX_REGISTERS)
		return HV_STATUS_INVALID_PARAMETER;
	ret = lock_vp(part, hdr->vp_index, &vp);
	if (ret)
		return ret;
	ret = linhv_vp_set_registers(vp, (const struct hv_register_assoc *)(hdr + 1),
				     hc->rep_count);
	unlock_vp(vp);
	if (ret >= 0)
		hc->reps_done = hc->rep_count;
	return ret < 0 ? HV_STATUS_INVALID_PARAMETER : ret;
}

static u16 assert_interrupt(struct linhv_partition *part, const void *in, u32 in_size)
{
	const struct linhv_in_assert_virtual_interrupt *ai = in;
	struct linhv_vp *vp;
	int ret;

	if (in_size != sizeof(*ai))
		return HV_STATUS_INVALID_PARAMETER;
	mutex_lock(&part->lock);
	vp = ai->dest_address < LINHV_MAX_VPS ? get_vp(part, ai->dest_address) : NULL;
	ret = vp ? linhv_vp_assert_interrupt(vp, ai->interrupt_type, ai->vector) :
		   HV_STATUS_INVALID_VP_INDEX;
	mutex_unlock(&part->lock);
	return ret;
}

static u16 partition_property(struct linhv_partition *part, u16 code, const void *in,
			      u32 in_size, void *out, u32 out_size)
{
	const struct linhv_in_partition_property *pp = in;

	if (in_size != sizeof(*pp))
		return HV_STATUS_INVALID_PARAMETER;
	if (pp->property_code != HvPartitionPropertyProcessorCount)
		return HV_STATUS_UNKNOWN_PROPERTY;
	if (code == HvCallSetPartitionProperty)
		return HV_STATUS_ACCESS_DENIED; /* fixed at creation */
	if (out_size != sizeof(u64))
		return HV_STATUS_INVALID_PARAMETER;
	*(u64 *)out = part->max_vps;
	return HV_STATUS_SUCCESS;
}

static long part_hvcall(struct linhv_partition *part, struct linhv_hvcall __user *uarg)
{
	struct linhv_hvcall hc;
	void *in = NULL, *out = NULL;
	struct file *new_file = NULL; /* a new VP's, installed only once reported */
	int new_fd = -1;
	long ret = 0;
	u16 status;

	if (copy_from_user(&hc, uarg, sizeof(hc)))
		return -EFAULT;
	if (hc.flags || hc.reserved[0] || hc.reserved[1] ||
	    hc.in_size > LINHV_HVCALL_MAX_INPUT || hc.out_size > LINHV_HVCALL_MAX_OUTPUT)
		return -EINVAL;
	if (hc.in_size) {
		in = memdup_user(u64_to_user_ptr(hc.input), hc.in_size);
		if (IS_ERR(in))
			return PTR_ERR(in);
	}
	if (hc.out_size) {
		out = kvzalloc(hc.out_size, GFP_KERNEL_ACCOUNT);
		if (!out) {
			kfree(in);
			return -ENOMEM;
		}
	}
	hc.reps_done = 0;

	switch (hc.code) {
	case HvCallInitializePartition:
		mutex_lock(&part->lock);
		part->initialized = true;
		mutex_unlock(&part->lock);
		status = HV_STATUS_SUCCESS;
		break;
	case HvCallGetPartitionProperty:
	case HvCallSetPartitionProperty:
		status = partition_property(part, hc.code, in, hc.in_size, out, hc.out_size);
		break;
	case LinhvCallSetCpuidPolicy:
		status = set_cpuid_policy(part, in, hc.in_size, hc.rep_count);
		break;
	case LinhvCallSetMsrForward:
		status = set_msr_forward(part, in, hc.in_size, hc.rep_count);
		break;
	case LinhvCallSetIoPortPolicy:
		status = set_io_port_policy(part, in, hc.in_size, hc.rep_count);
		break;
	case HvCallMapGpaPages:
		status = hc.in_size == sizeof(struct linhv_in_map_gpa_pages) ?
				 linhv_map_gpa(part, in) : HV_STATUS_INVALID_PARAMETER;
		break;
	case HvCallUnmapGpaPages:
		status = hc.in_size == sizeof(struct linhv_in_unmap_gpa_pages) ?
				 linhv_unmap_gpa(part, in) : HV_STATUS_INVALID_PARAMETER;
		break;
	case HvCallAttachDeviceDomain:
		status = linhv_iommu_attach(part, in, hc.in_size);
		break;
	case HvCallDetachDeviceDomain:
		status = linhv_iommu_detach(part, in, hc.in_size);
		break;
	case HvCallMapDeviceInterrupt:
	case HvCallUnmapDeviceInterrupt:
		status = linhv_devirq_call(part, hc.code == HvCallMapDeviceInterrupt, in,
					   hc.in_size);
		break;
	case HvCallCreateVp:
		if (hc.in_size != sizeof(struct linhv_in_create_vp) ||
		    hc.out_size != sizeof(struct linhv_out_create_vp)) {
			status = HV_STATUS_INVALID_PARAMETER;
			break;
		}
		ret = linhv_vp_create(part, &hc, in, &new_file);
		if (ret >= 0) {
			new_fd = ret;
			((struct linhv_out_create_vp *)out)->vp_fd = ret;
			status = HV_STATUS_SUCCESS;
		} else if (ret == -EEXIST) {
			status = HV_STATUS_OBJECT_IN_USE;
		} else if (ret == -EINVAL) {
			status = HV_STATUS_INVALID_VP_INDEX;
		} else if (ret == -ENOMEM) {
			status = HV_STATUS_INSUFFICIENT_MEMORY;
		} else {
			goto out;
		}
		ret = 0;
		break;
	case HvCallGetVpRegisters:
		status = get_vp_registers(part, &hc, in, out);
		break;
	case HvCallSetVpRegisters:
		status = set_vp_registers(part, &hc, in);
		break;
	case HvCallAssertVirtualInterrupt:
		status = assert_interrupt(part, in, hc.in_size);
		break;
	case HvCallPostMessageDirect:
		status = linhv_synic_post_direct(part, in, hc.in_size);
		break;
	case HvCallSignalEventDirect:
		status = linhv_synic_signal_direct(part, in, hc.in_size, out, hc.out_size);
		break;
	case LinhvCallSetEventFd:
		status = linhv_synic_set_event_fd(part, in, hc.in_size);
		break;
	case LinhvCallSetMessageConnection:
		status = linhv_synic_set_msg_conn(part, in, hc.in_size);
		break;
	case LinhvCallSetPostedMessageFd:
		status = linhv_synic_set_posted_fd(part, in, hc.in_size);
		break;
	case LinhvCallReadPostedMessage:
		status = linhv_synic_read_posted(part, out, hc.out_size);
		break;
	case LinhvCallGetReferenceTime:
		if (hc.out_size != sizeof(u64)) {
			status = HV_STATUS_INVALID_PARAMETER;
			break;
		}
		*(u64 *)out = linhv_hv_ref_time(part);
		status = HV_STATUS_SUCCESS;
		break;
	default:
		status = HV_STATUS_INVALID_HYPERCALL_CODE;
		break;
	}

	hc.status = status;
	if (status == HV_STATUS_SUCCESS && hc.out_size &&
	    copy_to_user(u64_to_user_ptr(hc.output), out, hc.out_size)) {
		ret = -EFAULT;
		goto out;
	}
	if (copy_to_user(uarg, &hc, sizeof(hc)))
		ret = -EFAULT;
out:
	if (new_file) {
		/* A root that cannot learn the fd must not be left holding it. */
		if (ret) {
			put_unused_fd(new_fd);
			fput(new_file);
		} else {
			fd_install(new_fd, new_file);
		}
	}
	kvfree(out);
	kfree(in);
	return ret;
}

static long part_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct linhv_partition *part = filp->private_data;

	switch (cmd) {
	case LINHV_HVCALL:
		return part_hvcall(part, (struct linhv_hvcall __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations part_fops = {
	.owner = THIS_MODULE,
	.release = part_release,
	.unlocked_ioctl = part_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

long linhv_partition_create(struct linhv_hvcall *hc)
{
	struct linhv_in_create_partition in;
	struct linhv_out_create_partition out = {0};
	struct linhv_partition *part;
	struct file *file;
	int fd, ret;

	if (!(linhv_host_caps.features & LINHV_FEAT_CAN_RUN)) {
		hc->status = HV_STATUS_FEATURE_UNAVAILABLE;
		return 0;
	}
	if (hc->in_size != sizeof(in) || hc->out_size != sizeof(out))
		goto invalid;
	if (copy_from_user(&in, u64_to_user_ptr(hc->input), sizeof(in)))
		return -EFAULT;
	if ((in.flags & ~LINHV_PARTITION_FLAG_HYPERV) || in.reserved || in.max_vps == 0 ||
	    in.max_vps > LINHV_MAX_VPS)
		goto invalid;
	if (atomic_inc_return(&nr_partitions) > LINHV_MAX_PARTITIONS) {
		atomic_dec(&nr_partitions);
		hc->status = HV_STATUS_INSUFFICIENT_MEMORY;
		return 0;
	}

	part = kzalloc(sizeof(*part), GFP_KERNEL_ACCOUNT);
	if (!part) {
		ret = -ENOMEM;
		goto err_count;
	}
	mutex_init(&part->lock);
	init_rwsem(&part->mem_lock);
	linhv_iommu_init(part);
	linhv_devirq_init(part);
	part->max_vps = in.max_vps;
	part->id = atomic64_inc_return(&next_partition_id);
	part->tsc_offset = -rdtsc();
	part->hyperv = in.flags & LINHV_PARTITION_FLAG_HYPERV;
	ret = linhv_npt_init(&part->npt);
	if (ret)
		goto err_free;
	ret = linhv_partition_hv_init(part);
	if (ret)
		goto err_npt;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_npt;
	}
	if (!try_module_get(THIS_MODULE)) {
		ret = -ENODEV;
		goto err_fd;
	}
	file = anon_inode_getfile("linhv-partition", &part_fops, part, O_RDWR);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		ret = PTR_ERR(file);
		goto err_fd;
	}
	part->file = file;

	out.partition_fd = fd;
	out.partition_id = part->id;
	if (copy_to_user(u64_to_user_ptr(hc->output), &out, sizeof(out))) {
		/* The release handler frees everything. */
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
	}
	fd_install(fd, file);
	hc->status = HV_STATUS_SUCCESS;
	return 0;

err_fd:
	put_unused_fd(fd);
err_npt:
	linhv_partition_hv_destroy(part);
	linhv_npt_destroy(&part->npt);
err_free:
	kfree(part);
err_count:
	atomic_dec(&nr_partitions);
	return ret;
invalid:
	hc->status = HV_STATUS_INVALID_PARAMETER;
	return 0;
}

/*
 * Make every VP of the partition leave guest mode (and flush its TLB on the
 * next entry when flush is set). Returns once none can still be running
 * with stale translations.
 */
void linhv_partition_kick_all(struct linhv_partition *part, bool flush)
{
	int i;

	mutex_lock(&part->lock);
	for (i = 0; i < LINHV_MAX_VPS; i++) {
		struct linhv_vp *vp = part->vps[i];

		if (!vp)
			continue;
		if (flush)
			WRITE_ONCE(vp->need_flush, true);
		/* Pairs with the barrier after the VP sets LINHV_IN_GUEST. */
		smp_mb();
		linhv_vp_kick(vp, true);
	}
	mutex_unlock(&part->lock);
}
