/* SPDX-License-Identifier: MIT */
/*
 * SCSI target emulation for one LUN of a direct-access disk (SBC/SPC): decode
 * a CDB into either an immediate answer (response data, or CHECK CONDITION
 * with fixed-format sense) or an I/O operation for the caller to run. No I/O
 * happens here, so every path is unit-testable and fuzzable.
 */
#ifndef STORVSP_SCSI_H
#define STORVSP_SCSI_H

#include <stdbool.h>
#include <stdint.h>

#define SCSI_BLOCK_SIZE 512u
#define SCSI_CDB_MAX 16u
#define SCSI_SENSE_LEN 18u	/* fixed format */
#define SCSI_RESPONSE_MAX 4096u /* largest immediate answer (REPORT LUNS of 256 LUNs) */
#define SCSI_MAX_LUNS 256u
/* Block limits we advertise (VPD 0xB0) and enforce. */
#define SCSI_UNMAP_MAX_DESCRIPTORS 256u
#define SCSI_UNMAP_MAX_BLOCKS (1u << 22)		      /* 2 GiB per UNMAP or WRITE SAME */
#define SCSI_DOUT_MAX (8u + 16u * SCSI_UNMAP_MAX_DESCRIPTORS) /* data-out we ever look at */

/* SCSI status */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02

/* Sense keys */
#define SCSI_SENSE_NO_SENSE 0x0
#define SCSI_SENSE_MEDIUM_ERROR 0x3
#define SCSI_SENSE_HARDWARE_ERROR 0x4
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5
#define SCSI_SENSE_DATA_PROTECT 0x7

/* Additional sense codes (asc << 8 | ascq) */
#define SCSI_ASC_WRITE_ERROR 0x0C00
#define SCSI_ASC_UNRECOVERED_READ_ERROR 0x1100
#define SCSI_ASC_PARAMETER_LIST_LENGTH 0x1A00
#define SCSI_ASC_INVALID_OPCODE 0x2000
#define SCSI_ASC_LBA_OUT_OF_RANGE 0x2100
#define SCSI_ASC_INVALID_FIELD_IN_CDB 0x2400
#define SCSI_ASC_LUN_NOT_SUPPORTED 0x2500
#define SCSI_ASC_INVALID_FIELD_IN_PARAMETERS 0x2600
#define SCSI_ASC_WRITE_PROTECTED 0x2700
#define SCSI_ASC_SPACE_ALLOCATION_FAILED 0x2707
#define SCSI_ASC_SAVING_NOT_SUPPORTED 0x3900

/* One LUN's properties. */
struct scsi_lun {
	uint64_t blocks;    /* 512-byte logical blocks */
	uint8_t phys_shift; /* log2(physical block / logical block) */
	bool readonly;
	bool write_cache;	  /* writes are volatile until SYNCHRONIZE CACHE */
	bool discard;		  /* UNMAP works */
	bool discard_zeroes;	  /* unmapped blocks read back as zeros */
	uint32_t max_xfer_blocks; /* largest READ/WRITE */
	char serial[21];	  /* printable ASCII, NUL-terminated */
	uint8_t id[16];		  /* source of the NAA identifier (VPD 0x83) */
};

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_IN, SCSI_DIR_OUT };

struct scsi_cmd {
	const uint8_t *cdb;
	uint8_t cdb_len;     /* 1..16 */
	enum scsi_dir dir;   /* what the initiator's buffer is for */
	uint32_t xfer_len;   /* the initiator's buffer length */
	const uint8_t *dout; /* the first dout_len data-out bytes (see scsi_dout_len) */
	uint32_t dout_len;
	uint16_t nluns; /* LUNs 0..nluns-1 exist (REPORT LUNS) */
};

enum scsi_kind {
	SCSI_DONE,	   /* status, sense and data_len are set */
	SCSI_NO_LUN,	   /* the LUN does not exist and the command needs one */
	SCSI_READ,	   /* lba, blocks into the data-in buffer */
	SCSI_WRITE,	   /* lba, blocks from the data-out buffer; fua */
	SCSI_FLUSH,	   /* make every completed write durable */
	SCSI_UNMAP,	   /* nextents extents (also WRITE SAME with UNMAP on zeros) */
	SCSI_WRITE_ZEROES, /* lba, blocks; unmap: may deallocate */
};

struct scsi_extent {
	uint64_t lba;
	uint32_t blocks;
};

struct scsi_result {
	enum scsi_kind kind;
	uint8_t status;
	uint8_t sense_len;
	uint8_t sense[SCSI_SENSE_LEN];
	uint32_t data_len; /* SCSI_DONE: bytes of response in data */
	uint64_t lba;
	uint32_t blocks;
	bool fua;
	bool unmap;
	uint32_t nextents;
};

/*
 * How many data-out bytes the decoder needs to see for this CDB before it can
 * decide (the UNMAP parameter list, the WRITE SAME block), at most
 * SCSI_DOUT_MAX; 0 for all other commands.
 */
uint32_t scsi_dout_len(const uint8_t *cdb, uint8_t cdb_len);

/*
 * Decode cmd for lun (NULL: the LUN does not exist). data (SCSI_RESPONSE_MAX
 * bytes) receives immediate response data; ext (SCSI_UNMAP_MAX_DESCRIPTORS)
 * receives UNMAP extents. Never fails: every outcome is in res.
 */
void scsi_execute(const struct scsi_lun *lun, const struct scsi_cmd *cmd, uint8_t *data,
		  struct scsi_extent *ext, struct scsi_result *res);

/* Turn res into CHECK CONDITION with fixed-format sense (key, asc << 8 | ascq). */
void scsi_set_sense(struct scsi_result *res, uint8_t key, uint16_t asc);

#endif /* STORVSP_SCSI_H */
