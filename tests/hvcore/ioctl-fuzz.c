// SPDX-License-Identifier: MIT
/*
 * Throws random and mutated ioctls at /dev/linhv and at the partition and
 * VP fds it creates: wrong sizes, huge counts, unaligned and overlapping
 * GPA maps, bad pointers, bogus VP indices, fds of the wrong kind, random
 * register states run for a few milliseconds. It talks to the ABI directly
 * on purpose (it tests the module, not libwinhv).
 *
 * The calls run in a child process. Checks, one PASS/FAIL line each:
 *  - the child survives and finishes (no signal, exit 0);
 *  - every call is answered with an HV status or an errno the module can
 *    give (EFAULT, EINVAL, ENOMEM, ...), never anything else, and a
 *    successful create hands out a live close-on-exec fd;
 *  - once the child has closed what it knows of, no fd is left open (an fd
 *    installed but never reported is a leak);
 *  - after the child exits every pinned page is released and the module can
 *    again create its maximum number of partitions (none leaked).
 * Exit status 0 only when all pass.
 *
 *   ioctl-fuzz [--calls N] [--seed S]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linhv/linhv.h>

#define MAX_FDS 16
#define POOL_PAGES 64

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t pick(const uint64_t *v, int n)
{
	return v[rnd() % n];
}

static int parts[MAX_FDS], vps[MAX_FDS];
static uint8_t *pool;
static uint8_t inbuf[8192], outbuf[8192];
static long calls, hv_ok, hv_status, errnos, unexpected;
static char first_unexpected[160];
static unsigned long long seed;

/* Errnos the module (or the VFS in front of it) may answer with. */
static int errno_expected(int e)
{
	switch (e) {
	case EFAULT:
	case EINVAL:
	case ENOMEM:
	case EBUSY:
	case EEXIST:
	case EINTR:
	case ENODEV:
	case ENOTTY:
	case EBADF:
	case EMFILE:
	case ENFILE:
		return 1;
	default:
		return 0;
	}
}

static void check_errno(const char *what, unsigned code, long r)
{
	if (r >= 0 || errno_expected(errno))
		return;
	if (!unexpected++)
		snprintf(first_unexpected, sizeof(first_unexpected), "%s %#x: errno %d (%s)", what,
			 code, errno, strerror(errno));
}

static void unexpected_result(const char *fmt, unsigned code, long v)
{
	if (!unexpected++)
		snprintf(first_unexpected, sizeof(first_unexpected), fmt, code, v);
}

/* A descriptor the module just handed out must be open and close-on-exec. */
static void check_new_fd(unsigned code, int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || !(fl & FD_CLOEXEC))
		unexpected_result("HvCall %#x returned fd %ld, not an open close-on-exec fd", code,
				  fd);
}

static uint64_t interesting(void)
{
	static const uint64_t v[] = {0,
				     1,
				     2,
				     0xfff,
				     0x1000,
				     0x1001,
				     0x7fffffff,
				     0x80000000,
				     0xffffffff,
				     0x100000000ULL,
				     0xfffffffffffff000ULL,
				     ~0ULL,
				     1ULL << 36,
				     (1ULL << 36) - 1,
				     1ULL << 48,
				     16,
				     17,
				     255,
				     256};

	return rnd() & 1 ? pick(v, sizeof(v) / sizeof(v[0])) : rnd() >> (rnd() % 64);
}

static int any_fd(void)
{
	switch (rnd() % 4) {
	case 0:
		return parts[rnd() % MAX_FDS];
	case 1:
		return vps[rnd() % MAX_FDS];
	case 2:
		return -1;
	default:
		return 0; /* stdin: not ours */
	}
}

static long do_hvcall(int fd, uint16_t code, uint32_t reps, void *in, uint32_t in_size, void *out,
		      uint32_t out_size, struct linhv_hvcall *hc_out)
{
	struct linhv_hvcall hc = {
	    .code = code,
	    .rep_count = reps,
	    .input = (uintptr_t)in,
	    .in_size = in_size,
	    .output = (uintptr_t)out,
	    .out_size = out_size,
	};
	long r;

	if (rnd() % 16 == 0)
		hc.flags = rnd();
	if (rnd() % 16 == 0)
		hc.input = interesting();
	if (rnd() % 16 == 0)
		hc.output = interesting();
	r = ioctl(fd, LINHV_HVCALL, &hc);
	calls++;
	check_errno("HvCall", code, r);
	if (r < 0)
		errnos++;
	else if (hc.status)
		hv_status++;
	else
		hv_ok++;
	if (r == 0 && hc.reps_done > reps)
		unexpected_result("HvCall %#x: reps_done %ld above rep_count", code, hc.reps_done);
	if (hc_out)
		*hc_out = hc;
	return r;
}

static void add_fd(int *arr, int fd)
{
	int i = rnd() % MAX_FDS;

	if (arr[i] > 0)
		close(arr[i]);
	arr[i] = fd;
}

static void op_create_partition(int dev)
{
	struct linhv_in_create_partition in = {.max_vps =
						   rnd() % 4 ? 1 + rnd() % 4 : interesting()};
	struct linhv_out_create_partition out;
	struct linhv_hvcall hc;

	in.flags = rnd() % 2 ? LINHV_PARTITION_FLAG_HYPERV : 0;
	if (rnd() % 8 == 0)
		in.flags = interesting();
	if (do_hvcall(dev, HvCallCreatePartition, 0, &in, rnd() % 8 ? sizeof(in) : rnd() % 64, &out,
		      rnd() % 8 ? sizeof(out) : rnd() % 64, &hc) == 0 &&
	    hc.status == 0) {
		check_new_fd(HvCallCreatePartition, out.partition_fd);
		add_fd(parts, out.partition_fd);
	}
}

static void op_map(int fd)
{
	struct linhv_in_map_gpa_pages in = {0};

	in.target_gpa_page = rnd() % 2 ? rnd() % 64 : interesting();
	in.page_count = rnd() % 2 ? 1 + rnd() % 8 : interesting();
	in.map_flags = rnd() % 2 ? HV_MAP_GPA_READABLE | HV_MAP_GPA_WRITABLE | HV_MAP_GPA_EXECUTABLE
				 : (uint32_t)rnd();
	in.user_address = (uintptr_t)pool + (rnd() % POOL_PAGES) * 4096;
	if (rnd() % 8 == 0)
		in.user_address += rnd() % 4096;
	if (rnd() % 8 == 0)
		in.user_address = interesting();
	if (in.user_address >= (uintptr_t)pool &&
	    in.user_address + in.page_count * 4096 > (uintptr_t)pool + POOL_PAGES * 4096 &&
	    rnd() % 2)
		in.page_count = 1;
	do_hvcall(fd, HvCallMapGpaPages, 0, &in, rnd() % 8 ? sizeof(in) : rnd() % 64, NULL, 0,
		  NULL);
}

static void op_unmap(int fd)
{
	struct linhv_in_unmap_gpa_pages in = {
	    .target_gpa_page = rnd() % 2 ? rnd() % 64 : interesting(),
	    .page_count = rnd() % 2 ? 1 + rnd() % 8 : interesting(),
	};

	do_hvcall(fd, HvCallUnmapGpaPages, 0, &in, sizeof(in), NULL, 0, NULL);
}

static void op_create_vp(int fd)
{
	struct linhv_in_create_vp in = {.vp_index = rnd() % 2 ? rnd() % 5 : interesting()};
	struct linhv_out_create_vp out;
	struct linhv_hvcall hc;

	if (do_hvcall(fd, HvCallCreateVp, 0, &in, sizeof(in), &out,
		      rnd() % 8 ? sizeof(out) : rnd() % 16, &hc) == 0 &&
	    hc.status == 0) {
		check_new_fd(HvCallCreateVp, out.vp_fd);
		add_fd(vps, out.vp_fd);
	}
}

static uint32_t random_reg_name(void)
{
	static const uint64_t names[] = {
	    HvX64RegisterRax,
	    HvX64RegisterRip,
	    HvX64RegisterRflags,
	    HvX64RegisterCr0,
	    HvX64RegisterCr3,
	    HvX64RegisterCr4,
	    HvX64RegisterCr8,
	    HvX64RegisterEfer,
	    HvX64RegisterCs,
	    HvX64RegisterSs,
	    HvX64RegisterDs,
	    HvX64RegisterTr,
	    HvX64RegisterIdtr,
	    HvX64RegisterGdtr,
	    HvX64RegisterXfem,
	    HvX64RegisterPat,
	    HvX64RegisterTsc,
	    HvRegisterPendingInterruption,
	    HvRegisterInterruptState,
	    HvX64RegisterR15,
	    HvX64RegisterRsp,
	    HvX64RegisterDr7,
	    0,
	    0xffffffff,
	};

	return rnd() % 16 ? pick(names, sizeof(names) / sizeof(names[0])) : (uint32_t)rnd();
}

static void op_registers(int fd)
{
	struct linhv_in_vp_registers *hdr = (void *)inbuf;
	uint32_t n = rnd() % 8 ? 1 + rnd() % 8 : interesting();
	uint32_t max = (sizeof(inbuf) - sizeof(*hdr)) / sizeof(struct hv_register_assoc);
	uint32_t use = n < max ? n : max;

	memset(inbuf, 0, sizeof(inbuf));
	hdr->vp_index = rnd() % 2 ? rnd() % 4 : interesting();
	if (rnd() % 2) {
		uint32_t *names = (uint32_t *)(hdr + 1);

		for (uint32_t i = 0; i < use; i++)
			names[i] = random_reg_name();
		do_hvcall(fd, HvCallGetVpRegisters, n, inbuf,
			  rnd() % 8 ? sizeof(*hdr) + use * 4 : rnd() % 128, outbuf,
			  rnd() % 8 ? use * 16 : rnd() % 256, NULL);
	} else {
		struct hv_register_assoc *r = (void *)(hdr + 1);

		for (uint32_t i = 0; i < use; i++) {
			r[i].name = random_reg_name();
			r[i].value.reg128[0] = interesting();
			r[i].value.reg128[1] = interesting();
		}
		do_hvcall(fd, HvCallSetVpRegisters, n, inbuf,
			  rnd() % 8 ? sizeof(*hdr) + use * sizeof(*r) : rnd() % 512, NULL, 0, NULL);
	}
}

static void op_misc(int fd)
{
	switch (rnd() % 5) {
	case 0: {
		struct linhv_cpuid_entry *e = (void *)inbuf;
		uint32_t n = rnd() % 8 ? rnd() % 8 : interesting();

		for (int i = 0; i < 8; i++) {
			e[i].function = interesting();
			e[i].flags = rnd() % 4;
		}
		do_hvcall(fd, LinhvCallSetCpuidPolicy, n, inbuf,
			  n < 8 ? n * sizeof(*e) : rnd() % 300, NULL, 0, NULL);
		break;
	}
	case 1: {
		struct linhv_in_assert_virtual_interrupt ai = {
		    .interrupt_type = rnd() % 8,
		    .dest_address = rnd() % 2 ? rnd() % 4 : interesting(),
		    .vector = rnd() % 300,
		};

		do_hvcall(fd, HvCallAssertVirtualInterrupt, 0, &ai, sizeof(ai), NULL, 0, NULL);
		break;
	}
	case 2: {
		/* Random and SynIC call codes with random blocks. */
		static const uint64_t codes[] = {
		    HvCallPostMessageDirect,	 HvCallSignalEventDirect,
		    LinhvCallSetEventFd,	 LinhvCallSetMessageConnection,
		    LinhvCallSetPostedMessageFd, LinhvCallReadPostedMessage,
		    LinhvCallGetReferenceTime};
		uint16_t code = rnd() % 2 ? pick(codes, 7) : rnd() % 0x200;

		for (int i = 0; i < 64; i++)
			((uint32_t *)inbuf)[i] =
			    rnd() % 4 ? (uint32_t)(rnd() % 32) : (uint32_t)interesting();
		do_hvcall(fd, code, rnd() % 4, inbuf, rnd() % 2 ? 280 : rnd() % 512, outbuf,
			  rnd() % 2 ? 8 : rnd() % 512, NULL);
		break;
	}
	case 3: {
		struct linhv_in_partition_property pp = {
		    .property_code =
			rnd() % 2 ? HvPartitionPropertyProcessorCount : (uint32_t)rnd()};

		do_hvcall(fd, rnd() % 2 ? HvCallGetPartitionProperty : HvCallSetPartitionProperty,
			  0, &pp, sizeof(pp), outbuf, rnd() % 16, NULL);
		break;
	}
	default: {
		unsigned cmd = _IOC(rnd() % 4, LINHV_IOCTL_TYPE, rnd() % 16, rnd() % 512);

		calls++;
		check_errno("ioctl", cmd, ioctl(fd, cmd, outbuf));
		break;
	}
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void op_run(void)
{
	int fd = vps[rnd() % MAX_FDS];
	/* Repeating, so a tick that lands before the ioctl is not the last one. */
	struct itimerval it = {.it_value = {.tv_usec = 2000 + rnd() % 8000},
			       .it_interval = {.tv_usec = 5000}};
	struct linhv_vp_run *run;

	if (fd <= 0 || rnd() % 4)
		fd = any_fd();
	run = mmap(NULL, rnd() % 8 ? 4096 : 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   rnd() % 8 ? 0 : 4096);
	if (run != MAP_FAILED && rnd() % 2)
		run->immediate_exit = 1;
	setitimer(ITIMER_REAL, &it, NULL);
	check_errno("LINHV_RUN_VP on fd", fd, ioctl(fd, LINHV_RUN_VP, rnd() % 8 ? 0 : rnd()));
	calls++;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	if (run != MAP_FAILED)
		munmap(run, 4096);
}

static int failures;

static void result(int ok, const char *name, const char *why)
{
	if (ok) {
		printf("PASS: ioctl-fuzz seed %llu: %s\n", seed, name);
	} else {
		printf("FAIL: ioctl-fuzz seed %llu: %s (%s)\n", seed, name, why);
		failures++;
	}
	fflush(stdout);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* The fuzzing itself, in the child. Returns the exit status. */
static int fuzz(long target)
{
	struct sigaction sa;
	char why[256];
	int dev, fds_before, fds_after, null = open("/dev/null", O_RDWR);

	/* stdin is any_fd()'s "not ours": make it the same file everywhere. */
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* interrupts a running VP */
	sigaction(SIGALRM, &sa, NULL);
	pool = mmap(NULL, POOL_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	fds_before = open_fds();
	dev = open(LINHV_DEVICE, O_RDWR);
	if (dev < 0 || pool == MAP_FAILED) {
		snprintf(why, sizeof(why), "cannot open %s: %s", LINHV_DEVICE, strerror(errno));
		result(0, "the module answers", why);
		return 1;
	}
	while (calls < target) {
		int fd = parts[rnd() % MAX_FDS];

		if (fd <= 0 || rnd() % 8 == 0)
			fd = rnd() % 4 ? fd : any_fd();
		switch (rnd() % 16) {
		case 0:
			op_create_partition(dev);
			break;
		case 1:
		case 2:
		case 3:
			op_map(fd);
			break;
		case 4:
		case 5:
			op_unmap(fd);
			break;
		case 6:
			op_create_vp(fd);
			break;
		case 7:
		case 8:
		case 9:
			op_registers(fd);
			break;
		case 10:
		case 11:
			op_misc(rnd() % 8 ? fd : dev);
			break;
		case 12:
			op_run();
			break;
		case 13:
			if (rnd() % 32 == 0) { /* close something, partitions with live VPs too */
				int *arr = rnd() % 2 ? parts : vps;
				int i = rnd() % MAX_FDS;

				if (arr[i] > 0)
					close(arr[i]);
				arr[i] = 0;
			}
			break;
		default: {
			/* Argument first: the order the seeds' sequences were drawn in. */
			uintptr_t arg = rnd() % 2 ? (uintptr_t)outbuf : interesting();
			unsigned long cmd =
			    rnd() % 2 ? LINHV_GET_CAPABILITIES : (unsigned long)rnd();

			calls++;
			check_errno("/dev/linhv ioctl", (unsigned)cmd, ioctl(dev, cmd, arg));
			break;
		}
		}
	}
	for (int i = 0; i < MAX_FDS; i++) {
		if (parts[i] > 0)
			close(parts[i]);
		if (vps[i] > 0)
			close(vps[i]);
	}
	close(dev);
	fds_after = open_fds();
	printf("ioctl-fuzz: %ld calls: %ld ran OK, %ld refused with an HV_STATUS, %ld with errno\n",
	       calls, hv_ok, hv_status, errnos);
	snprintf(why, sizeof(why), "%ld unexpected, the first: %s", unexpected, first_unexpected);
	result(!unexpected, "every call answered with an HV status or an expected errno", why);
	snprintf(why, sizeof(why), "%d fds open before, %d after closing all", fds_before,
		 fds_after);
	result(fds_after == fds_before, "no fd left open after closing every known one", why);
	return failures ? 1 : 0;
}

static long vmstat(const char *key)
{
	char name[128];
	long v, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%127s %ld", name, &v) == 2) {
		if (!strcmp(name, key)) {
			found = v;
			break;
		}
	}
	fclose(f);
	return found;
}

static long pins_held(void)
{
	return vmstat("nr_foll_pin_acquired") - vmstat("nr_foll_pin_released");
}

/* After the child: the module can create as many partitions as it says. */
static void check_partitions(void)
{
	struct linhv_caps caps = {0};
	int dev = open(LINHV_DEVICE, O_RDWR), fds[256], n = 0;
	uint32_t want;
	char why[160] = "";

	if (dev < 0 || ioctl(dev, LINHV_GET_CAPABILITIES, &caps)) {
		result(0, "no partition leaked", "no capabilities");
		if (dev >= 0)
			close(dev);
		return;
	}
	want = caps.max_partitions < 256 ? caps.max_partitions : 256;
	while ((uint32_t)n < want) {
		struct linhv_in_create_partition in = {.max_vps = 1};
		struct linhv_out_create_partition out;
		struct linhv_hvcall hc = {.code = HvCallCreatePartition,
					  .input = (uintptr_t)&in,
					  .in_size = sizeof(in),
					  .output = (uintptr_t)&out,
					  .out_size = sizeof(out)};

		if (ioctl(dev, LINHV_HVCALL, &hc) || hc.status) {
			snprintf(why, sizeof(why), "partition %d of %u refused: %s, status %#x",
				 n + 1, want, strerror(errno), hc.status);
			break;
		}
		fds[n++] = out.partition_fd;
	}
	result((uint32_t)n == want, "no partition leaked (all max_partitions can be created)", why);
	while (n)
		close(fds[--n]);
	close(dev);
}

int main(int argc, char **argv)
{
	long target = 100000, pins_before, pins_after = 0;
	char why[160];
	int status;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--calls"))
			target = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			rng_state = strtoull(argv[i + 1], NULL, 0) | 1;
	}
	seed = (unsigned long long)rng_state;
	printf("ioctl-fuzz: seed %llu, %ld calls\n", seed, target);
	pins_before = pins_held();
	pid = fork();
	if (pid == 0)
		_exit(fuzz(target));
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		result(0, "the fuzzing process finished", "fork or wait failed");
		return 1;
	}
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "exit %d", WEXITSTATUS(status));
	/* Exit 1: the child's own checks failed, and said so. */
	result(WIFEXITED(status) && WEXITSTATUS(status) <= 1, "the fuzzing process finished", why);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		failures++;
	for (int i = 0; i < 50; i++) { /* the last fput may finish a moment later */
		pins_after = pins_held();
		if (pins_after <= pins_before)
			break;
		usleep(100 * 1000);
	}
	snprintf(why, sizeof(why), "%ld pages pinned before, %ld after", pins_before, pins_after);
	result(pins_after <= pins_before, "every pinned page released after the run", why);
	check_partitions();
	return failures ? 1 : 0;
}
