/*
 * wire.h — the messages between the broker and a worker, declared once.
 *
 * The names are in proto.h (W_*). Each order's arguments, each reply's
 * fields and each notification's fields are a struct tusk_param list, read
 * on arrival with params_parse / params_parse_map (msg.h): every field of
 * the right type, every required one present, and nothing else — the
 * OpenSMTPD m_end() rule: a message with anything unexpected in it is
 * malformed. The worker drops an order it cannot read (with an error
 * reply); the broker drops a worker that sends what it must not (its
 * per-state table is in broker/workers.c).
 *
 * Row batches, columns and notices (query_rows, query_columns,
 * query_notice) are client notifications the worker frames itself; the
 * broker routes them by their envelope (rpc_peek) and moves the bytes.
 */
#ifndef TUSK_WIRE_H
#define TUSK_WIRE_H

#include "msg.h"

/* Broker -> worker orders: arguments, and the fields of the success reply. */
extern const struct tusk_param wire_connect[];
extern const struct tusk_param wire_connect_reply[];
extern const struct tusk_param wire_ssh_info[]; /* connect reply's ssh_tunnel */
extern const struct tusk_param wire_query[];
extern const struct tusk_param wire_query_reply[];
extern const struct tusk_param wire_export[];
extern const struct tusk_param wire_import[];
extern const struct tusk_param wire_copy_data[];
extern const struct tusk_param wire_copy_data_reply[];
extern const struct tusk_param wire_copy_reply[]; /* export's and import's */
extern const struct tusk_param wire_exec_batch[];
extern const struct tusk_param wire_exec_batch_reply[];
extern const struct tusk_param wire_cancel[];
extern const struct tusk_param wire_cancel_reply[];
extern const struct tusk_param wire_catalog[];
extern const struct tusk_param wire_catalog_reply[];
extern const struct tusk_param wire_describe[];
extern const struct tusk_param wire_describe_reply[];
extern const struct tusk_param wire_ping[];
extern const struct tusk_param wire_close[];
/* Broker -> worker notification. */
extern const struct tusk_param wire_set_log[];
/* Worker -> broker notifications. */
extern const struct tusk_param wire_hello[];
extern const struct tusk_param wire_log[];
extern const struct tusk_param wire_host_key[];
extern const struct tusk_param wire_schema_touched[];
extern const struct tusk_param wire_export_data[];
extern const struct tusk_param wire_import_ready[];

#endif
