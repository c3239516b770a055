/*
 * pg-catalog.h — what the catalog readers share: the job a read is
 * (pg-catalog.c), the statements of describe and what they found
 * (pg-describe.c), and the DDL written from them (pg-ddl.c).
 */
#ifndef TUSK_WORKER_PG_CATALOG_H
#define TUSK_WORKER_PG_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <msgpack.h>

#include "util.h"

#define STEPS_MAX 14
#define WARNINGS_MAX 32

struct pgq;

enum job_kind { JOB_SCHEMA, JOB_DESCRIBE };
enum job_phase { PH_OPEN, PH_STEPS, PH_RECOVER, PH_CLOSE };
/* What describe found: a relation or sequence, a function, a type. */
enum obj_class { OC_NONE, OC_REL, OC_SEQ, OC_FUNC, OC_TYPE };

/* The statements of each read, by index into job->res. */
enum {
	S_PATH, S_SCHEMAS, S_RELS, S_COLS, S_FUNCS, S_SEQS, S_TYPES, S_ENUMS, S_EXTS,
	S_NSCHEMA
};
enum {
	D_RESOLVE, D_RESOLVE_FN, D_RESOLVE_TYPE, D_INFO, D_COLS, D_CONS, D_REFBY, D_INDEXES,
	D_TRIGGERS, D_PARTS, D_OWNED, D_ITEMS, D_NDESCRIBE
};

/* A catalog read (the ctx of its struct pgq). */
struct job {
	enum job_kind kind;
	enum job_phase phase;
	bool system;
	bool began;	     /* BEGIN was ours: the session was idle */
	int version;	     /* PQserverVersion */
	char *schema, *name, *want;
	int step;	     /* the running statement's index */
	int64_t step_us;     /* when it was sent (mono_us) */
	bool step_failed;    /* it failed in a way that becomes a warning */
	bool steps[STEPS_MAX]; /* which statements this job runs */
	PGresult *res[STEPS_MAX];
	char *warnings[WARNINGS_MAX];
	int nwarnings;
	/* describe */
	enum obj_class oc;
	char okind;	     /* relkind, prokind or typtype */
	char oid[24];
};

/* The columns of describe's statements, in the order describe_sql()
 * selects them (D_INFO by class; the others by statement). */
enum {
	REL_SCHEMA, REL_NAME, REL_KIND, REL_OWNER, REL_COMMENT, REL_ROWS, REL_SIZE,
	REL_PERSISTENCE, REL_OPTIONS, REL_PARTKEY, REL_PARENT_SCHEMA, REL_PARENT, REL_BOUND,
	REL_VIEWDEF, REL_POPULATED, REL_RLS, REL_FORCE_RLS, REL_REPLIDENT, REL_SERVER,
	REL_FTOPTIONS, REL_AM, REL_TABLESPACE, REL_INHERITS
};
enum {
	SEQ_SCHEMA, SEQ_NAME, SEQ_KIND, SEQ_OWNER, SEQ_COMMENT, SEQ_TYPE, SEQ_START,
	SEQ_INCREMENT, SEQ_MIN, SEQ_MAX, SEQ_CACHE, SEQ_CYCLE, SEQ_OWNER_SCHEMA,
	SEQ_OWNER_TABLE, SEQ_OWNER_COLUMN, SEQ_DEPTYPE, SEQ_SIZE
};
enum {
	FN_SCHEMA, FN_NAME, FN_KIND, FN_OWNER, FN_COMMENT, FN_ARGS, FN_RESULT,
	FN_IDENTITY_ARGS, FN_DEF, FN_AGGKIND, FN_SFUNC, FN_STYPE, FN_SSPACE, FN_FINALFUNC,
	FN_FINALEXTRA, FN_COMBINEFUNC, FN_SERIALFUNC, FN_DESERIALFUNC, FN_INITCOND, FN_SORTOP,
	FN_PARALLEL, FN_FINALMODIFY
};
enum {
	TY_SCHEMA, TY_NAME, TY_KIND, TY_OWNER, TY_COMMENT, TY_BASE, TY_NOTNULL, TY_DEFAULT,
	TY_COLLATION, TY_SUBTYPE, TY_OPCLASS, TY_RANGE_COLLATION, TY_CANONICAL, TY_SUBDIFF,
	TY_MULTIRANGE
};
enum {
	COL_NUM, COL_NAME, COL_TYPE, COL_NULLABLE, COL_DEFAULT, COL_IDENTITY, COL_GENERATED,
	COL_COMMENT, COL_COLLATION, COL_LOCAL, COL_INHCOUNT, COL_STORAGE, COL_STATTARGET,
	COL_FDWOPTIONS, COL_PKEY
};
enum {
	CON_NAME, CON_TYPE, CON_DEF, CON_LOCAL, CON_INHCOUNT, CON_VALIDATED, CON_COMMENT,
	CON_REF_SCHEMA, CON_REF_TABLE, CON_COLUMNS, CON_REF_COLUMNS, CON_ON_UPDATE,
	CON_ON_DELETE, CON_MATCH, CON_DEFERRABLE, CON_DEFERRED, CON_CLONE, CON_NOINHERIT
};
enum { REF_NAME, REF_SCHEMA, REF_TABLE, REF_COLUMNS, REF_REF_COLUMNS, REF_DEF };
enum {
	IDX_NAME, IDX_DEF, IDX_PRIMARY, IDX_UNIQUE, IDX_VALID, IDX_CLUSTERED, IDX_REPLIDENT,
	IDX_COMMENT, IDX_CONSTRAINT, IDX_ATTACHED, IDX_METHOD
};
enum { TRG_NAME, TRG_DEF, TRG_ENABLED, TRG_COMMENT, TRG_CLONE };
enum { PART_SCHEMA, PART_NAME, PART_BOUND, PART_KIND };
enum {
	OWN_COLUMN, OWN_SCHEMA, OWN_NAME, OWN_DEPTYPE, OWN_TYPE, OWN_START, OWN_INCREMENT,
	OWN_MIN, OWN_MAX, OWN_CACHE, OWN_CYCLE, OWN_COMMENT
};
enum { ENUM_LABEL };
enum { DCON_NAME, DCON_DEF, DCON_VALIDATED, DCON_COMMENT };

/* pg-catalog.c: reading results */
/* A value, or NULL for SQL NULL (or a missing result). */
const char *cat_val(const PGresult *r, int row, int col);
/* A boolean value (NULL is false). */
bool cat_bool(const PGresult *r, int row, int col);
/* A value as an integer (def when NULL). */
long long cat_int(const PGresult *r, int row, int col, long long def);
/* Rows of a result (0 for none). */
int cat_rows(const PGresult *r);
/* Pack a value as a str, or nil. */
void cat_pack_val(msgpack_packer *pk, const PGresult *r, int row, int col);
/* A one-dimensional text[] value into strings: the count, or -1. */
int cat_array_parse(const char *s, char ***ret);
void cat_array_free(char **v, int n);
/* Pack a text[] value as an array of str. */
void cat_pack_array(msgpack_packer *pk, const PGresult *r, int row, int col);
/* Pack the warnings array. */
void cat_pack_warnings(msgpack_packer *pk, const struct job *j);
/* Keep a warning for the answer (takes w). */
void cat_warn(struct job *j, char *w);
/* The contract's kind names, by class and catalog letter. */
const char *cat_kind_name(enum obj_class oc, char k);

/* pg-describe.c */
extern const char *const describe_what[D_NDESCRIBE];
/* describe's statement number i (a new string). */
char *describe_sql(const struct job *j, int i);
/* The candidates are in: choose one and plan the rest, or set q's error. */
void describe_resolved(struct pgq *q);
/* describe_object's result. */
void describe_pack(msgpack_packer *pk, struct job *j);

/* pg-ddl.c */
/* The statements that recreate what describe read. */
void ddl_build(struct strbuf *sb, struct job *j);

#endif
