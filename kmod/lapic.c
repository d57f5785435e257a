// SPDX-License-Identifier: GPL-2.0
/*
 * The virtual local APIC, x2APIC mode only (the guest finds x2APIC already
 * enabled, so it never touches the xAPIC MMIO page). Fixed, NMI, INIT and
 * SIPI delivery between VPs, priority (TPR/PPR), EOI, and the timer in
 * one-shot, periodic and TSC-deadline modes backed by an hrtimer.
 */
#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <asm/tsc.h>

#include "linhv_internal.h"

#define X2APIC_BASE 0x800
#define XR_ID 0x02
#define XR_VERSION 0x03
#define XR_TPR 0x08
#define XR_PPR 0x0a
#define XR_EOI 0x0b
#define XR_LDR 0x0d
#define XR_SVR 0x0f
#define XR_ISR 0x10
#define XR_TMR 0x18
#define XR_IRR 0x20
#define XR_ESR 0x28
#define XR_LVT_CMCI 0x2f
#define XR_ICR 0x30
#define XR_LVT_TIMER 0x32
#define XR_LVT_ERROR 0x37
#define XR_TIMER_ICR 0x38
#define XR_TIMER_CCR 0x39
#define XR_TIMER_DCR 0x3e
#define XR_SELF_IPI 0x3f

#define LVT_MASKED BIT(16)
#define LVT_TIMER_MODE_MASK (3 << 17)
#define LVT_TIMER_PERIODIC (1 << 17)
#define LVT_TIMER_TSCDEADLINE (2 << 17)
#define SVR_ENABLED BIT(8)

#define MSR_TSC_DEADLINE 0x6e0
#define APIC_BUS_HZ 1000000000ULL /* what HV_X64_MSR_APIC_FREQUENCY reports */
#define MIN_PERIOD_NS 50000 /* a guest cannot make the timer fire faster */
#define MAX_TIMER_NS (1ULL << 60) /* ~36 years: far enough, and no ktime overflow */

static int lvt_index(u32 reg)
{
	if (reg == XR_LVT_CMCI)
		return 6;
	return reg - XR_LVT_TIMER; /* 0x32..0x37 -> 0..5 */
}

static int highest_bit(const unsigned long *map)
{
	int i;

	for (i = 256 / BITS_PER_LONG - 1; i >= 0; i--) {
		unsigned long w = READ_ONCE(map[i]);

		if (w)
			return i * BITS_PER_LONG + __fls(w);
	}
	return -1;
}

static u32 ppr(struct linhv_lapic *a)
{
	int isr = highest_bit(a->isr);
	u32 isrv = isr < 0 ? 0 : isr & 0xf0;

	return (a->tpr & 0xf0) >= isrv ? a->tpr : isrv;
}

void linhv_lapic_sync_tpr(struct linhv_vp *vp)
{
	/* The guest may write CR8 without an exit: take it from the vendor. */
	vp->lapic.tpr = linhv_vendor->get_tpr(vp) << 4;
}

void linhv_lapic_accept(struct linhv_vp *vp, u8 vector)
{
	if (vector < 16)
		return;
	set_bit(vector, vp->lapic.irr);
	smp_mb__after_atomic();
	linhv_vp_kick(vp, false);
}

int linhv_lapic_pending(struct linhv_vp *vp)
{
	struct linhv_lapic *a = &vp->lapic;
	int irr = highest_bit(a->irr);

	if (irr < 0 || !(a->svr & SVR_ENABLED))
		return -1;
	if ((irr & 0xf0) <= (ppr(a) & 0xf0))
		return -1;
	return irr;
}

void linhv_lapic_ack(struct linhv_vp *vp, u8 vector)
{
	clear_bit(vector, vp->lapic.irr);
	if (!linhv_synic_auto_eoi(vp, vector))
		__set_bit(vector, vp->lapic.isr);
}

static void eoi(struct linhv_vp *vp)
{
	int isr = highest_bit(vp->lapic.isr);

	if (isr >= 0)
		__clear_bit(isr, vp->lapic.isr);
}

/*
 * Hyper-V lazy EOI (TLFS: bit 0 of the VP assist page's APIC assist word,
 * "no EOI required"). Before an entry with an interrupt in service and
 * nothing else requested, the bit is set; a Linux guest then clears it
 * instead of writing the EOI MSR, one exit less per interrupt. After the
 * next exit, before anything reads the ISR, a cleared bit means the guest
 * skipped its EOI, and it is done here.
 */
void linhv_lapic_lazy_eoi_arm(struct linhv_vp *vp)
{
	struct linhv_lapic *a = &vp->lapic;
	u64 msr = vp->synic.vp_assist;
	u32 one = 1;

	if (a->lazy_eoi || !(msr & 1) || !vp->part->hyperv)
		return;
	if (highest_bit(a->isr) < 0 || highest_bit(a->irr) >= 0)
		return;
	if (!linhv_write_guest(vp->part, msr & PAGE_MASK, &one, sizeof(one)))
		a->lazy_eoi = true;
}

void linhv_lapic_lazy_eoi_sync(struct linhv_vp *vp)
{
	u64 gpa = vp->synic.vp_assist & PAGE_MASK;
	u32 v;

	if (likely(!vp->lapic.lazy_eoi))
		return;
	vp->lapic.lazy_eoi = false;
	if (linhv_read_guest(vp->part, gpa, &v, sizeof(v)) || !(v & 1)) {
		eoi(vp);
		return;
	}
	/* Not taken yet: withdraw the offer, so the guest's EOI exits as usual. */
	v &= ~1u;
	linhv_write_guest(vp->part, gpa, &v, sizeof(v));
}

/* ---- timer ---- */

static u64 divide(u32 dcr)
{
	u32 v = ((dcr & 8) >> 1) | (dcr & 3);

	return v == 7 ? 1 : 2ULL << v;
}

static enum hrtimer_restart timer_fire(struct hrtimer *t)
{
	struct linhv_lapic *a = container_of(t, struct linhv_lapic, timer);
	struct linhv_vp *vp = container_of(a, struct linhv_vp, lapic);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	u32 lvt;

	spin_lock_irqsave(&a->timer_lock, flags);
	lvt = a->lvt[0];
	if ((lvt & LVT_TIMER_MODE_MASK) == LVT_TIMER_PERIODIC && a->timer_period_ns) {
		a->timer_expires = ktime_add_ns(a->timer_expires, a->timer_period_ns);
		hrtimer_set_expires(t, a->timer_expires);
		ret = HRTIMER_RESTART;
	} else if ((lvt & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSCDEADLINE) {
		a->tsc_deadline = 0;
	}
	spin_unlock_irqrestore(&a->timer_lock, flags);
	if (!(lvt & LVT_MASKED))
		linhv_lapic_accept(vp, lvt & 0xff);
	return ret;
}

/*
 * The timer is only (re)programmed by the VP's own thread, which first
 * stops it with hrtimer_cancel() outside timer_lock: that waits for a
 * callback running on another CPU, which a try-to-cancel would leave
 * running while the timer is started again. Called with timer_lock held
 * and the timer stopped.
 */
static void timer_start_oneshot_periodic(struct linhv_lapic *a)
{
	u64 ns;

	a->timer_period_ns = 0;
	if (!a->timer_icr)
		return;
	ns = (u64)a->timer_icr * divide(a->dcr) * (1000000000ULL / APIC_BUS_HZ);
	if ((a->lvt[0] & LVT_TIMER_MODE_MASK) == LVT_TIMER_PERIODIC) {
		ns = max_t(u64, ns, MIN_PERIOD_NS);
		a->timer_period_ns = ns;
	}
	a->timer_expires = ktime_add_ns(ktime_get(), ns);
	hrtimer_start(&a->timer, a->timer_expires, HRTIMER_MODE_ABS);
}

/* TSC cycles to ns for any guest value: no divide error, at most MAX_TIMER_NS. */
static u64 tsc_to_ns(u64 cycles)
{
	u32 khz = tsc_khz;
	u64 ms;

	if (!khz)
		return 0;
	ms = div_u64(cycles, khz);
	if (ms >= MAX_TIMER_NS / NSEC_PER_MSEC)
		return MAX_TIMER_NS;
	return ms * NSEC_PER_MSEC + div_u64((cycles - ms * khz) * NSEC_PER_MSEC, khz);
}

static void timer_set_deadline(struct linhv_vp *vp, u64 deadline)
{
	struct linhv_lapic *a = &vp->lapic;
	unsigned long flags;
	u64 now, ns = 0;

	hrtimer_cancel(&a->timer);
	spin_lock_irqsave(&a->timer_lock, flags);
	a->tsc_deadline = deadline;
	if (deadline && (a->lvt[0] & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSCDEADLINE) {
		now = rdtsc() + linhv_vendor->get_tsc_offset(vp);
		if (deadline > now)
			ns = tsc_to_ns(deadline - now);
		a->timer_expires = ktime_add_ns(ktime_get(), ns);
		hrtimer_start(&a->timer, a->timer_expires, HRTIMER_MODE_ABS);
	}
	spin_unlock_irqrestore(&a->timer_lock, flags);
}

static u32 timer_ccr(struct linhv_lapic *a)
{
	s64 left;

	if (!a->timer_icr || !hrtimer_active(&a->timer))
		return 0;
	left = ktime_to_ns(ktime_sub(a->timer_expires, ktime_get()));
	if (left <= 0)
		return 0;
	return div64_u64(left, divide(a->dcr) * (1000000000ULL / APIC_BUS_HZ));
}

/* ---- IPIs ---- */

static bool dest_match(struct linhv_vp *t, u32 dest, bool logical)
{
	if (!logical)
		return dest == 0xffffffff || dest == t->index;
	/* x2APIC logical: cluster in bits 31:16, one bit per member. */
	return (dest >> 16) == (t->index >> 4) && (dest & (1u << (t->index & 0xf)));
}

static void deliver(struct linhv_vp *t, u32 mode, u8 vector)
{
	switch (mode) {
	case 0: /* fixed */
	case 1: /* lowest priority: we deliver to every match */
		linhv_lapic_accept(t, vector);
		break;
	case 4: /* NMI */
		WRITE_ONCE(t->nmi_pending, true);
		linhv_vp_kick(t, false);
		break;
	case 5: /* INIT */
		WRITE_ONCE(t->init_pending, true);
		linhv_vp_kick(t, false);
		break;
	case 6: /* Start-up */
		WRITE_ONCE(t->sipi_vector, vector);
		linhv_vp_kick(t, false);
		break;
	}
}

static void send_ipi(struct linhv_vp *vp, u64 icr)
{
	struct linhv_partition *part = vp->part;
	u32 mode = (icr >> 8) & 7, shorthand = (icr >> 18) & 3;
	bool logical = icr & BIT(11);
	u32 dest = icr >> 32;
	u8 vector = icr & 0xff;
	int i;

	/* INIT level de-assert is a no-op on modern CPUs. */
	if (mode == 5 && !(icr & BIT(14)))
		return;
	mutex_lock(&part->lock);
	for (i = 0; i < LINHV_MAX_VPS; i++) {
		struct linhv_vp *t = part->vps[i];
		bool hit;

		if (!t)
			continue;
		switch (shorthand) {
		case 1:
			hit = t == vp;
			break;
		case 2:
			hit = true;
			break;
		case 3:
			hit = t != vp;
			break;
		default:
			hit = dest_match(t, dest, logical);
			break;
		}
		if (hit)
			deliver(t, mode, vector);
	}
	mutex_unlock(&part->lock);
}

/* ---- MSR interface ---- */

bool linhv_is_lapic_msr(u32 msr)
{
	return (msr >= X2APIC_BASE && msr < X2APIC_BASE + 0x100) || msr == MSR_TSC_DEADLINE;
}

int linhv_lapic_msr_read(struct linhv_vp *vp, u32 msr, u64 *val)
{
	struct linhv_lapic *a = &vp->lapic;
	u32 reg = msr - X2APIC_BASE;

	if (msr == MSR_TSC_DEADLINE) {
		*val = a->tsc_deadline;
		return 0;
	}
	linhv_lapic_sync_tpr(vp);
	switch (reg) {
	case XR_ID:
		*val = vp->index;
		return 0;
	case XR_VERSION:
		*val = 0x14 | (6 << 16); /* 7 LVT entries */
		return 0;
	case XR_TPR:
		*val = a->tpr;
		return 0;
	case XR_PPR:
		*val = ppr(a);
		return 0;
	case XR_LDR:
		*val = ((vp->index >> 4) << 16) | (1u << (vp->index & 0xf));
		return 0;
	case XR_SVR:
		*val = a->svr;
		return 0;
	case XR_ESR:
		*val = a->esr;
		return 0;
	case XR_ICR:
		*val = 0; /* delivery is immediate: never busy */
		return 0;
	case XR_TIMER_ICR:
		*val = a->timer_icr;
		return 0;
	case XR_TIMER_CCR:
		*val = timer_ccr(a);
		return 0;
	case XR_TIMER_DCR:
		*val = a->dcr;
		return 0;
	}
	if (reg >= XR_ISR && reg < XR_ISR + 8) {
		*val = (u32)(a->isr[(reg - XR_ISR) / 2] >> (((reg - XR_ISR) & 1) * 32));
		return 0;
	}
	if (reg >= XR_IRR && reg < XR_IRR + 8) {
		*val = (u32)(READ_ONCE(a->irr[(reg - XR_IRR) / 2]) >>
			     (((reg - XR_IRR) & 1) * 32));
		return 0;
	}
	if (reg >= XR_TMR && reg < XR_TMR + 8) {
		*val = 0;
		return 0;
	}
	if ((reg >= XR_LVT_TIMER && reg <= XR_LVT_ERROR) || reg == XR_LVT_CMCI) {
		*val = a->lvt[lvt_index(reg)];
		return 0;
	}
	return -1;
}

int linhv_lapic_msr_write(struct linhv_vp *vp, u32 msr, u64 val)
{
	struct linhv_lapic *a = &vp->lapic;
	u32 reg = msr - X2APIC_BASE;
	unsigned long flags;

	if (msr == MSR_TSC_DEADLINE) {
		timer_set_deadline(vp, val);
		return 0;
	}
	if (reg != XR_ICR && (val >> 32))
		return -1;
	switch (reg) {
	case XR_TPR:
		a->tpr = val & 0xff;
		linhv_vendor->set_tpr(vp, (val >> 4) & 0xf);
		return 0;
	case XR_EOI:
		eoi(vp);
		return 0;
	case XR_SVR:
		a->svr = val & 0x1ff;
		return 0;
	case XR_ESR:
		a->esr = 0;
		return 0;
	case XR_ICR:
		send_ipi(vp, val);
		return 0;
	case XR_SELF_IPI:
		linhv_lapic_accept(vp, val & 0xff);
		return 0;
	case XR_TIMER_ICR:
		if ((a->lvt[0] & LVT_TIMER_MODE_MASK) == LVT_TIMER_TSCDEADLINE) {
			a->timer_icr = val; /* ignored in TSC-deadline mode */
			return 0;
		}
		hrtimer_cancel(&a->timer);
		spin_lock_irqsave(&a->timer_lock, flags);
		a->timer_icr = val;
		timer_start_oneshot_periodic(a);
		spin_unlock_irqrestore(&a->timer_lock, flags);
		return 0;
	case XR_TIMER_DCR:
		a->dcr = val & 0xb;
		return 0;
	case XR_LVT_TIMER:
		/* lvt[0] is written only by this thread: the test needs no lock. */
		if ((a->lvt[0] ^ val) & LVT_TIMER_MODE_MASK)
			hrtimer_cancel(&a->timer);
		spin_lock_irqsave(&a->timer_lock, flags);
		if ((a->lvt[0] ^ val) & LVT_TIMER_MODE_MASK)
			a->tsc_deadline = 0;
		a->lvt[0] = val & (0xff | LVT_MASKED | LVT_TIMER_MODE_MASK);
		spin_unlock_irqrestore(&a->timer_lock, flags);
		return 0;
	case XR_ID:
	case XR_VERSION:
	case XR_LDR:
	case XR_PPR:
	case XR_TIMER_CCR:
		return -1; /* read-only */
	}
	if ((reg > XR_LVT_TIMER && reg <= XR_LVT_ERROR) || reg == XR_LVT_CMCI) {
		a->lvt[lvt_index(reg)] = val & 0x1f7ff;
		return 0;
	}
	return -1;
}

/*
 * The synthetic APIC MSRs (0x40000070-72): EOI, ICR (the x2APIC layout: the
 * lapic is always in x2APIC mode) and TPR.
 */
int linhv_lapic_hv_msr_read(struct linhv_vp *vp, u32 reg, u64 *val)
{
	if (reg == LINHV_LAPIC_HV_EOI) {
		*val = 0;
		return 0;
	}
	return linhv_lapic_msr_read(vp, X2APIC_BASE + (reg == LINHV_LAPIC_HV_ICR ? XR_ICR : XR_TPR),
				    val);
}

int linhv_lapic_hv_msr_write(struct linhv_vp *vp, u32 reg, u64 val)
{
	u32 xr = reg == LINHV_LAPIC_HV_EOI ? XR_EOI : reg == LINHV_LAPIC_HV_ICR ? XR_ICR : XR_TPR;

	return linhv_lapic_msr_write(vp, X2APIC_BASE + xr, val);
}

void linhv_lapic_init(struct linhv_vp *vp)
{
	struct linhv_lapic *a = &vp->lapic;
	int i;

	memset(a->irr, 0, sizeof(a->irr));
	memset(a->isr, 0, sizeof(a->isr));
	for (i = 0; i < 7; i++)
		a->lvt[i] = LVT_MASKED;
	a->svr = 0xff;
	a->tpr = 0;
	a->lazy_eoi = false;
	spin_lock_init(&a->timer_lock);
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	a->timer.function = timer_fire;
}

void linhv_lapic_destroy(struct linhv_vp *vp)
{
	hrtimer_cancel(&vp->lapic.timer);
}
