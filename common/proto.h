/*
 * The socket protocol in one place: version, op names, error codes, job
 * states and default limits. proto/PROTOCOL.md is the human contract; a name
 * here changes only together with it.
 */
#ifndef MPD_PROTO_H
#define MPD_PROTO_H

#define MPD_VERSION		"0.1.0"
#define PROTO_VERSION		1

/* Default cap on one request line, in bytes (--max-line). */
#define PROTO_MAX_LINE		(1024 * 1024)
/* Default cap on the items of one map (--max-items). */
#define PROTO_MAX_ITEMS		1000000
/* Default cap on the nesting of arrays and objects (--max-depth). */
#define PROTO_MAX_DEPTH		64
/* Default cap on connected clients (--max-clients). */
#define PROTO_MAX_CLIENTS	1024
/* Default seconds a client may stall in the middle of a line. */
#define PROTO_CLIENT_TIMEOUT	60
/* Seconds a client with nothing pending may stay connected and silent. */
#define PROTO_IDLE_TIMEOUT	3600.0
/* Bytes of pending work a client may have before mpd stops reading it. */
#define PROTO_CLIENT_BUDGET	((size_t)16 << 20)
/* Seconds a client past its budget may leave its replies unread. */
#define PROTO_DRAIN_TIMEOUT	60.0

/* The ops, as requests name them: request.c checks them, ops.c runs them. */
#define OP_HELLO	"hello"
#define OP_SUBMIT	"submit"
#define OP_MAP		"map"
#define OP_GET		"get"
#define OP_STATUS	"status"
#define OP_LIST		"list"
#define OP_CANCEL	"cancel"
#define OP_FORGET	"forget"
#define OP_LOGS		"logs"
#define OP_SHUTDOWN	"shutdown"
#define OP_POOLS	"pools"
#define OP_POOL_RESIZE	"pool_resize"
#define OP_POOL_PAUSE	"pool_pause"
#define OP_POOL_RESUME	"pool_resume"
#define OP_POOL_ADD	"pool_add"
#define OP_POOL_REMOVE	"pool_remove"

/* Error codes: stable strings that programs may test. */
#define ERR_BAD_JSON		"bad_json"
#define ERR_BAD_REQUEST		"bad_request"
#define ERR_UNKNOWN_OP		"unknown_op"
#define ERR_UNKNOWN_TASK	"unknown_task"
#define ERR_NOT_FOUND		"not_found"
#define ERR_BAD_STATE		"bad_state"
#define ERR_TIMEOUT		"timeout"
#define ERR_LINE_TOO_LONG	"line_too_long"
#define ERR_TOO_MANY_ITEMS	"too_many_items"
#define ERR_UNSUPPORTED		"unsupported_version"
#define ERR_SHUTTING_DOWN	"shutting_down"
#define ERR_PERMISSION		"permission_denied"
#define ERR_IDLE_TIMEOUT	"idle_timeout"
#define ERR_TOO_MANY_CLIENTS	"too_many_clients"
#define ERR_QUEUE_FULL		"queue_full"
#define ERR_STORE_FULL		"store_full"
#define ERR_DISK_FULL		"disk_full"
#define ERR_UNKNOWN_POOL	"unknown_pool"
#define ERR_INTERNAL		"internal"

/* Codes in a job's own error object. */
#define JOBERR_TASK		"task_error"
#define JOBERR_WORKER_DIED	"worker_died"
#define JOBERR_INTERRUPTED	"interrupted"
#define JOBERR_CANCELLED	"cancelled"
#define JOBERR_TIMEOUT		"timeout"
#define JOBERR_EXIT		"exit_status"	/* a command exited non-zero */
#define JOBERR_KILLED		"killed"	/* a command died by a signal */
#define JOBERR_EXEC_FAILED	"exec_failed"	/* a command could not start */
#define JOBERR_RESULT_TOO_LARGE	"result_too_large"

/* The pool that always exists, where a job goes unless it names another. */
#define POOL_DEFAULT		"default"
/* Most workers in one pool. */
#define POOL_SIZE_MAX		1024

/* Default cap on each captured stream of a command (--output-cap). */
#define PROTO_OUTPUT_CAP	(64 * 1024)
/* Seconds an ended job is kept before it is forgotten (--keep-ended). */
#define PROTO_KEEP_ENDED	(7 * 86400.0)
/* Bytes of each stream a job's log keeps, head and tail (--log-cap). */
#define PROTO_LOG_CAP		(16 * 1024 * 1024)
/* Default cap on a job's result, as JSON text (--max-result). */
#define PROTO_MAX_RESULT	(64 * 1024 * 1024)
/* Default bytes of store kept for running jobs (--store-reserve). */
#define PROTO_STORE_RESERVE	(4 * 1024 * 1024)
/* Most bytes of each stream in one logs reply. */
#define PROTO_LOGS_CHUNK	(256 * 1024)
/*
 * A function of an external runtime is named "module:qualname": at most
 * this many bytes, with a colon, no white space and no control character.
 */
#define PROTO_FUNCTION_MAX	512
/* Chunks a map may have: a smaller chunksize is raised to fit. */
#define PROTO_MAP_CHUNKS	10000
/* Bytes of JSON a function's context may have (each map chunk keeps it). */
#define PROTO_CONTEXT_MAX	65536

/* Job states, stored as these integers. */
enum job_state {
	JOB_QUEUED = 0,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_TIMEOUT,
	JOB_CANCELLED,
	JOB_NSTATES
};

/* Kinds of job record: a plain job, a map, or one chunk of a map. */
enum job_kind {
	KIND_JOB = 0,
	KIND_MAP,
	KIND_CHUNK
};

/* Returns the state's name ("queued", ...). */
const char	*job_state_name(int);
/* Returns the state for a name, or -1. */
int		 job_state_parse(const char *);
/* True for states a job never leaves. */
int		 job_state_final(int);
/* Whether a task name names a runtime's function ("module:qualname"). */
int		 function_name_ok(const char *);

/* Causes of a failed attempt that a job may be retried for (retry_on). */
#define RETRY_WORKER_DIED	0x1
#define RETRY_INTERRUPTED	0x2	/* the daemon stopped or crashed */
#define RETRY_TIMEOUT		0x4
#define RETRY_ERROR		0x8	/* the task failed: error, exit status */
#define RETRY_NCAUSES		4
/* The name of one cause's bit (worker_died, interrupted, timeout, error). */
const char	*retry_cause_name(int);
/* The bit of a named retry cause, or 0. */
int		 retry_cause(const char *);

#endif
