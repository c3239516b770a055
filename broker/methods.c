/*
 * methods.c — the one table of client-facing methods.
 *
 * Each entry is a descriptor defined beside its handler (methods.h says
 * what it holds). The dispatcher finds methods here and checks their
 * arguments from the descriptor; `describe` (and `tuskd --describe`) packs
 * this table. tuskd refuses to start when the table is not sound
 * (methods_check). Add at the end of a group; never rename.
 */
#include "broker.h"

#include "util.h"

const struct tusk_method *const method_table[] = {
	&m_health_check,
	&m_get_app_info,
	&m_get_log_directory,
	&m_describe,
	&m_get_log_level,
	&m_set_log_level,
	&m_shutdown,
	&m_test_connection,
	&m_connect,
	&m_disconnect,
	&m_get_active_connections,
	&m_execute_query,
	&m_cancel_query,
	&m_export_query,
	&m_import_file,
	&m_get_running_queries,
	&m_list_workers,
	&m_kill_worker,
	&m_subscribe,
	&m_check_keychain_available,
	&m_get_keychain_status,
	&m_has_stored_password,
	&m_list_connections,
	&m_get_connection,
	&m_save_connection,
	&m_delete_connection,
	&m_get_preference,
	&m_set_preference,
	&m_list_preferences,
	&m_check_database_health,
	&m_dismiss_storage_notice,
	&m_trust_host_key,
	&m_get_schema,
	&m_describe_object,
	&m_get_history,
	&m_delete_history,
	&m_list_saved_queries,
	&m_save_query,
	&m_delete_saved_query,
	&m_get_workspace,
	&m_save_workspace,
	&m_set_connection_label,
	&m_open_table,
	&m_apply_edits,
	&m_get_server_activity,
	&m_cancel_backend,
	&m_terminate_backend,
};

const size_t method_table_len = nitems(method_table);
