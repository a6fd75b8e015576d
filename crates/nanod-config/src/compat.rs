//! Compatibility dates and flags, with workerd's names and semantics: the table of every flag
//! (from the `CompatibilityFlags` struct of workerd's `compatibility-date.capnp`, as built into
//! workerd 1.20261117.1), and [`resolve`], which turns a Worker's `compatibilityDate` and
//! `compatibilityFlags` into one [`CompatFlags`] set, or into workerd's error messages.
//!
//! A flag is on when the date is on or after its enable date (or it is enabled for all dates),
//! when its enable-flag is listed, or when a flag that implies it is on and the date is on or
//! after the implication's date; its disable-flag turns it off whatever else says. Experimental
//! flags need `--experimental`. Every name of the table is accepted, including those with no
//! effect in nanod.
//!
//! Flags that change nanod's behaviour (the rest are accepted and ignored):
//! - `global_navigator`: the `navigator` global exists;
//! - `formdata_parser_supports_files`: parsed multipart files are `File`s, not strings;
//! - `fetch_refuses_unknown_protocols`: `fetch()` of a non-HTTP(S) URL throws instead of
//!   being sent as `http:`;
//! - `streams_enable_constructors`: `new ReadableStream()`/`new WritableStream()` from JS
//!   (without it they throw workerd's error);
//! - `nodejs_compat` (and `nodejs_compat_v2`): the `node:` built-in modules.
//! - `transformstream_enable_standard_constructor`: without it, `new TransformStream(t)` ignores
//!   `t` (with workerd's warning) and is an identity byte stream (`IdentityTransformStream`).
//!
//! Checked against workerd and left as they are (no effect): `response_json` (workerd has
//! `Response.json` at every date), `allow_custom_ports` (workerd outside Cloudflare always
//! honours the port). Not implemented yet: `url_original`, `global_importscripts`,
//! `no_http_headers_getsetcookie`, `no_urlsearchparams_delete_has_value_arg`,
//! `blob_legacy_mime_type`: nanod always behaves as with the newer default.
//!
//! This module does no I/O; "today" (for workerd's refusal of dates in the future) comes from
//! the system clock unless [`Options::today`] sets it.

use std::collections::HashSet;

/// The newest compatibility date this binary supports: what the workerd binary whose flags it
/// knows (1.20261117.1) reports as its newest.
pub const NEWEST_COMPATIBILITY_DATE: &str = "2026-11-24";

/// One field of workerd's `CompatibilityFlags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    /// The capnp field name (what `impliedByAfterDate` refers to).
    pub field: &'static str,
    /// `$compatEnableFlag`.
    pub enable: &'static str,
    /// `$compatDisableFlag`, if any.
    pub disable: Option<&'static str>,
    /// `$compatEnableDate`: on by default from this date.
    pub date: Option<&'static str>,
    /// `$experimental`: the enable-flag needs `--experimental`.
    pub experimental: bool,
    /// `$compatEnableAllDates`: on by default for every date.
    pub all_dates: bool,
    /// `$impliedByAfterDate`: on when one of these fields is on and the date is on or after
    /// `implied_after`.
    pub implied_by: &'static [&'static str],
    pub implied_after: Option<&'static str>,
}

const fn flag(field: &'static str, enable: &'static str, disable: &'static str, date: &'static str) -> Flag {
    Flag {
        field,
        enable,
        disable: if disable.is_empty() { None } else { Some(disable) },
        date: if date.is_empty() { None } else { Some(date) },
        experimental: false,
        all_dates: false,
        implied_by: &[],
        implied_after: None,
    }
}

impl Flag {
    const fn experimental(mut self) -> Flag {
        self.experimental = true;
        self
    }
    const fn all_dates(mut self) -> Flag {
        self.all_dates = true;
        self
    }
    const fn implied_by(mut self, fields: &'static [&'static str], date: &'static str) -> Flag {
        self.implied_by = fields;
        self.implied_after = Some(date);
        self
    }
}

/// Every flag, in workerd's field order (the order in which they are resolved).
/// `flag(field, enable-flag, disable-flag or "", enable date or "")`.
#[rustfmt::skip]
pub const FLAGS: &[Flag] = &[
    flag("formDataParserSupportsFiles", "formdata_parser_supports_files", "formdata_parser_converts_files_to_strings", "2021-11-03"),
    flag("fetchRefusesUnknownProtocols", "fetch_refuses_unknown_protocols", "fetch_treats_unknown_protocols_as_http", "2021-11-10"),
    flag("esiIncludeIsVoidTag", "html_rewriter_treats_esi_include_as_void_tag", "", ""),
    flag("durableObjectFetchRequiresSchemeAuthority", "durable_object_fetch_requires_full_url", "durable_object_fetch_allows_relative_url", "2021-11-10"),
    flag("streamsByobReaderDetachesBuffer", "streams_byob_reader_detaches_buffer", "streams_byob_reader_does_not_detach_buffer", "2021-11-10"),
    flag("streamsJavaScriptControllers", "streams_enable_constructors", "streams_disable_constructors", "2022-11-30"),
    flag("jsgPropertyOnPrototypeTemplate", "workers_api_getters_setters_on_prototype", "workers_api_getters_setters_on_instance", "2022-01-31"),
    flag("minimalSubrequests", "minimal_subrequests", "no_minimal_subrequests", "2022-04-05"),
    flag("noCotsOnExternalFetch", "no_cots_on_external_fetch", "cots_on_external_fetch", "2022-03-08"),
    flag("specCompliantUrl", "url_standard", "url_original", "2022-10-31"),
    flag("globalNavigator", "global_navigator", "no_global_navigator", "2022-03-21"),
    flag("captureThrowsAsRejections", "capture_async_api_throws", "do_not_capture_async_api_throws", "2022-10-31"),
    flag("r2PublicBetaApi", "r2_public_beta_bindings", "r2_internal_beta_bindings", "").all_dates(),
    flag("obsolete14", "durable_object_alarms", "", ""),
    flag("noSubstituteNull", "dont_substitute_null_on_type_error", "substitute_null_on_type_error", "2022-06-01"),
    flag("transformStreamJavaScriptControllers", "transformstream_enable_standard_constructor", "transformstream_disable_standard_constructor", "2022-11-30"),
    flag("r2ListHonorIncludeFields", "r2_list_honor_include", "", "2022-08-04"),
    flag("exportCommonJsDefaultNamespace", "export_commonjs_default", "export_commonjs_namespace", "2022-10-31"),
    flag("obsolete19", "durable_object_rename", "", "").experimental(),
    flag("webSocketCompression", "web_socket_compression", "no_web_socket_compression", "2023-08-15"),
    flag("nodeJsCompat", "nodejs_compat", "no_nodejs_compat", "2026-08-04"),
    flag("obsolete22", "tcp_sockets_support", "", ""),
    flag("specCompliantResponseRedirect", "response_redirect_url_standard", "response_redirect_url_original", "2023-03-14"),
    flag("workerdExperimental", "experimental", "", "").experimental(),
    flag("durableObjectGetExisting", "durable_object_get_existing", "", "").experimental(),
    flag("httpHeadersGetSetCookie", "http_headers_getsetcookie", "no_http_headers_getsetcookie", "2023-03-01"),
    flag("dispatchExceptionTunneling", "dynamic_dispatch_tunnel_exceptions", "dynamic_dispatch_treat_exceptions_as_500", "2023-03-01"),
    flag("serviceBindingExtraHandlers", "service_binding_extra_handlers", "", "").experimental(),
    flag("noCfBotManagementDefault", "no_cf_botmanagement_default", "cf_botmanagement_default", "2023-08-01"),
    flag("urlSearchParamsDeleteHasValueArg", "urlsearchparams_delete_has_value_arg", "no_urlsearchparams_delete_has_value_arg", "2023-07-01"),
    flag("strictCompression", "strict_compression_checks", "no_strict_compression_checks", "2023-08-01"),
    flag("brotliContentEncoding", "brotli_content_encoding", "no_brotli_content_encoding", "2024-04-29"),
    flag("strictCrypto", "strict_crypto_checks", "no_strict_crypto_checks", "2023-08-01"),
    flag("rttiApi", "rtti_api", "", "").experimental(),
    flag("obsolete35", "webgpu", "", "").experimental(),
    flag("cryptoPreservePublicExponent", "crypto_preserve_public_exponent", "no_crypto_preserve_public_exponent", "2023-12-01"),
    flag("vectorizeQueryMetadataOptional", "vectorize_query_metadata_optional", "vectorize_query_original", "2023-11-08"),
    flag("unsafeModule", "unsafe_module", "", "").experimental(),
    flag("jsRpc", "js_rpc", "", "").experimental(),
    flag("noImportScripts", "no_global_importscripts", "global_importscripts", "2024-03-04"),
    flag("nodeJsAls", "nodejs_als", "no_nodejs_als", ""),
    flag("queuesJsonMessages", "queues_json_messages", "no_queues_json_messages", "2024-03-18"),
    flag("pythonWorkers", "python_workers", "", "").implied_by(&["pythonWorkersDevPyodide"], "2000-01-01"),
    flag("fetcherNoGetPutDelete", "fetcher_no_get_put_delete", "fetcher_has_get_put_delete", "2024-03-26"),
    flag("unwrapCustomThenables", "unwrap_custom_thenables", "no_unwrap_custom_thenables", "2024-04-01"),
    flag("fetcherRpc", "rpc", "no_rpc", "2024-04-03"),
    flag("internalStreamByobReturn", "internal_stream_byob_return_view", "internal_stream_byob_return_undefined", "2024-05-13"),
    flag("blobStandardMimeType", "blob_standard_mime_type", "blob_legacy_mime_type", "2024-06-03"),
    flag("fetchStandardUrl", "fetch_standard_url", "fetch_legacy_url", "2024-06-03"),
    flag("nodeJsCompatV2", "nodejs_compat_v2", "no_nodejs_compat_v2", "2026-08-04").implied_by(&["nodeJsCompat"], "2024-09-23"),
    flag("globalFetchStrictlyPublic", "global_fetch_strictly_public", "global_fetch_private_origin", ""),
    flag("newModuleRegistry", "new_module_registry", "legacy_module_registry", "2026-11-17"),
    flag("cacheOptionEnabled", "cache_option_enabled", "cache_option_disabled", "2024-11-11"),
    flag("kvDirectBinding", "kv_direct_binding", "", "").experimental(),
    flag("allowCustomPorts", "allow_custom_ports", "ignore_custom_ports", "2024-09-02"),
    flag("increaseWebsocketMessageSize", "increase_websocket_message_size", "", "").experimental(),
    flag("internalWritableStreamAbortClearsQueue", "internal_writable_stream_abort_clears_queue", "internal_writable_stream_abort_does_not_clear_queue", "2024-09-02"),
    flag("pythonWorkersDevPyodide", "python_workers_development", "", "").experimental(),
    flag("nodeJsZlib", "nodejs_zlib", "no_nodejs_zlib", "").implied_by(&["nodeJsCompat", "nodeJsCompatV2"], "2024-09-23"),
    flag("replicaRouting", "replica_routing", "", "").experimental(),
    flag("obsolete61", "enable_d1_with_sessions_api", "", "").experimental(),
    flag("handleCrossRequestPromiseResolution", "handle_cross_request_promise_resolution", "no_handle_cross_request_promise_resolution", "2024-10-14"),
    flag("setToStringTag", "set_tostring_tag", "do_not_set_tostring_tag", "2024-09-26"),
    flag("upperCaseAllHttpMethods", "upper_case_all_http_methods", "no_upper_case_all_http_methods", "2024-10-14"),
    flag("obsolete66", "python_external_packages", "", ""),
    flag("noTopLevelAwaitInRequire", "disable_top_level_await_in_require", "enable_top_level_await_in_require", "2024-12-02"),
    flag("fixupTransformStreamBackpressure", "fixup-transform-stream-backpressure", "original-transform-stream-backpressure", "2024-12-16"),
    flag("obsolete69", "tail_worker_user_spans", "", "").experimental(),
    flag("cacheNoCache", "cache_no_cache_enabled", "cache_no_cache_disabled", "").implied_by(&["cacheOptionEnabled"], "2025-08-07"),
    flag("pythonWorkers20250116", "python_workers_20250116", "no_python_workers_20250116", "").implied_by(&["pythonWorkers"], "2025-09-29"),
    flag("requestCfOverridesCacheRules", "request_cf_overrides_cache_rules", "no_request_cf_overrides_cache_rules", "2025-04-02"),
    flag("memoryCacheDelete", "memory_cache_delete", "", "").experimental(),
    flag("obsolete74", "unique_ctx_per_invocation", "", "2025-03-10"),
    flag("queueConsumerNoWaitForWaitUntil", "queue_consumer_no_wait_for_wait_until", "queue_consumer_wait_for_wait_until", ""),
    flag("populateProcessEnv", "nodejs_compat_populate_process_env", "nodejs_compat_do_not_populate_process_env", "").implied_by(&["nodeJsCompat"], "2025-04-01"),
    flag("cacheApiRequestCfOverridesCacheRules", "cache_api_request_cf_overrides_cache_rules", "no_cache_api_request_cf_overrides_cache_rules", "2025-05-19"),
    flag("disableImportableEnv", "disallow_importable_env", "allow_importable_env", ""),
    flag("assetsSecFetchModeNavigateHeaderPrefersAssetServing", "assets_navigation_prefers_asset_serving", "assets_navigation_has_no_effect", "2025-04-01"),
    flag("cacheApiCompatFlags", "cache_api_compat_flags", "no_cache_api_compat_flags", "2025-04-19"),
    flag("obsolete81", "python_workers_durable_objects", "", "").experimental(),
    flag("obsolete82", "streaming_tail_worker", "", "").experimental(),
    flag("specCompliantUrlpattern", "urlpattern_standard", "urlpattern_original", "2025-05-01"),
    flag("jsWeakRef", "enable_weak_ref", "disable_weak_ref", "2025-05-05"),
    flag("requestSignalPassthrough", "request_signal_passthrough", "no_request_signal_passthrough", ""),
    flag("enableNavigatorLanguage", "enable_navigator_language", "disable_navigator_language", "2025-05-19"),
    flag("webFileSystem", "enable_web_file_system", "", "").experimental(),
    flag("abortSignalRpc", "enable_abortsignal_rpc", "", "").experimental(),
    flag("allowEvalDuringStartup", "allow_eval_during_startup", "disallow_eval_during_startup", "2025-06-01"),
    flag("enableRequestSignal", "enable_request_signal", "disable_request_signal", "2026-11-17"),
    flag("connectPassThrough", "connect_pass_through", "", "").experimental(),
    flag("reuseCtxAcrossNonclassEvents", "nonclass_entrypoint_reuses_ctx_across_invocations", "", ""),
    flag("bindAsyncLocalStorageSnapshot", "bind_asynclocalstorage_snapshot_to_request", "do_not_bind_asynclocalstorage_snapshot_to-request", "2025-06-16"),
    flag("throwOnUnrecognizedImportAssertion", "throw_on_unrecognized_import_assertion", "ignore_unrecognized_import_assertion", "2025-06-16"),
    flag("pythonWorkflows", "python_workflows", "disable_python_workflows", "").implied_by(&["pythonWorkers"], "2025-09-20"),
    flag("unsupportedProcessActualPlatform", "unsupported_process_actual_platform", "", "").experimental(),
    flag("enableNodeJsProcessV2", "enable_nodejs_process_v2", "disable_nodejs_process_v2", "").implied_by(&["nodeJsCompat"], "2025-09-15"),
    flag("setEventTargetThis", "set_event_target_this", "no_set_event_target_this", "2025-08-01"),
    flag("enableForwardableEmailFullHeaders", "set_forwardable_email_full_headers", "set_forwardable_email_single_headers", "2025-08-01"),
    flag("enableNodejsHttpModules", "enable_nodejs_http_modules", "disable_nodejs_http_modules", "").implied_by(&["nodeJsCompat"], "2025-08-15"),
    flag("pedanticWpt", "pedantic_wpt", "non_pedantic_wpt", ""),
    flag("exposeGlobalMessageChannel", "expose_global_message_channel", "no_expose_global_message_channel", "2025-08-15"),
    flag("enableNodejsHttpServerModules", "enable_nodejs_http_server_modules", "disable_nodejs_http_server_modules", "").implied_by(&["enableNodejsHttpModules"], "2025-09-01"),
    flag("pythonNoGlobalHandlers", "python_no_global_handlers", "disable_python_no_global_handlers", "2025-08-14"),
    flag("enableNodeJsFsModule", "enable_nodejs_fs_module", "disable_nodejs_fs_module", "").implied_by(&["nodeJsCompat"], "2025-09-15"),
    flag("enableNodeJsOsModule", "enable_nodejs_os_module", "disable_nodejs_os_module", "").implied_by(&["nodeJsCompat"], "2025-09-15"),
    flag("pythonWorkersForceNewVendorPath", "python_workers_force_new_vendor_path", "", "2025-08-11"),
    flag("removeNodejsCompatEOL", "remove_nodejs_compat_eol", "add_nodejs_compat_eol", "").implied_by(&["nodeJsCompat"], "2025-09-01"),
    flag("enableWorkflowScriptValidation", "enable_validate_workflow_entrypoint", "disable_validate_workflow_entrypoint", "2025-09-20"),
    flag("pythonDedicatedSnapshot", "python_dedicated_snapshot", "disable_python_dedicated_snapshot", "").implied_by(&["pythonWorkers20250116"], "2025-10-16"),
    flag("typescriptStripTypes", "typescript_strip_types", "", "").experimental(),
    flag("enableNodeJsHttp2Module", "enable_nodejs_http2_module", "disable_nodejs_http2_module", "").implied_by(&["nodeJsCompat"], "2025-09-01"),
    flag("experimentalAllowEvalAlways", "allow_insecure_inefficient_logged_eval", "", "").experimental(),
    flag("stripAuthorizationOnCrossOriginRedirect", "strip_authorization_on_cross_origin_redirect", "retain_authorization_on_cross_origin_redirect", "2025-09-01"),
    flag("enhancedErrorSerialization", "enhanced_error_serialization", "legacy_error_serialization", "2026-04-21"),
    flag("emailSendingQueuing", "enable_email_sending_queuing", "disable_email_sending_queuing", ""),
    flag("removeNodejsCompatEOLv22", "remove_nodejs_compat_eol_v22", "add_nodejs_compat_eol_v22", "").implied_by(&["removeNodejsCompatEOL"], "2027-04-30"),
    flag("removeNodejsCompatEOLv23", "remove_nodejs_compat_eol_v23", "add_nodejs_compat_eol_v23", "").implied_by(&["removeNodejsCompatEOLv24"], "2025-09-01"),
    flag("removeNodejsCompatEOLv24", "remove_nodejs_compat_eol_v24", "add_nodejs_compat_eol_v24", "").implied_by(&["removeNodejsCompatEOL"], "2028-04-30"),
    flag("enableNodeJsConsoleModule", "enable_nodejs_console_module", "disable_nodejs_console_module", "").implied_by(&["nodeJsCompat"], "2025-09-21"),
    flag("enableNodeJsVmModule", "enable_nodejs_vm_module", "disable_nodejs_vm_module", "").implied_by(&["nodeJsCompat"], "2025-10-01"),
    flag("enableNodeJsPerfHooksModule", "enable_nodejs_perf_hooks_module", "disable_nodejs_perf_hooks_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableGlobalPerformanceClasses", "enable_global_performance_classes", "disable_global_performance_classes", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsDomainModule", "enable_nodejs_domain_module", "disable_nodejs_domain_module", "").implied_by(&["nodeJsCompat"], "2025-12-04"),
    flag("enableNodeJsV8Module", "enable_nodejs_v8_module", "disable_nodejs_v8_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsTtyModule", "enable_nodejs_tty_module", "disable_nodejs_tty_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsPunycodeModule", "enable_nodejs_punycode_module", "disable_nodejs_punycode_module", "").implied_by(&["nodeJsCompat"], "2025-12-04"),
    flag("enableNodeJsClusterModule", "enable_nodejs_cluster_module", "disable_nodejs_cluster_module", "").implied_by(&["nodeJsCompat"], "2025-12-04"),
    flag("enableNodeJsChildProcessModule", "enable_nodejs_child_process_module", "disable_nodejs_child_process_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsWorkerThreadsModule", "enable_nodejs_worker_threads_module", "disable_nodejs_worker_threads_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsStreamWrapModule", "enable_nodejs_stream_wrap_module", "disable_nodejs_stream_wrap_module", "").implied_by(&["nodeJsCompat"], "2026-01-29"),
    flag("enableNodeJsWasiModule", "enable_nodejs_wasi_module", "disable_nodejs_wasi_module", "").implied_by(&["nodeJsCompat"], "2025-12-04"),
    flag("enableNodeJsDgramModule", "enable_nodejs_dgram_module", "disable_nodejs_dgram_module", "").implied_by(&["nodeJsCompat"], "2026-01-29"),
    flag("enableNodeJsInspectorModule", "enable_nodejs_inspector_module", "disable_nodejs_inspector_module", "").implied_by(&["nodeJsCompat"], "2026-01-29"),
    flag("enableNodeJsTraceEventsModule", "enable_nodejs_trace_events_module", "disable_nodejs_trace_events_module", "").implied_by(&["nodeJsCompat"], "2025-12-04"),
    flag("enableNodeJsReadlineModule", "enable_nodejs_readline_module", "disable_nodejs_readline_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsReplModule", "enable_nodejs_repl_module", "disable_nodejs_repl_module", "").implied_by(&["nodeJsCompat"], "2026-03-17"),
    flag("enableNodeJsSqliteModule", "enable_nodejs_sqlite_module", "disable_nodejs_sqlite_module", "").implied_by(&["nodeJsCompat"], "2026-01-29"),
    flag("enableCtxExports", "enable_ctx_exports", "disable_ctx_exports", "2025-11-17"),
    flag("pythonExternalSDK", "enable_python_external_sdk", "disable_python_external_sdk", "2026-04-21"),
    flag("fastJsgStruct", "enable_fast_jsg_struct", "disable_fast_jsg_struct", "2025-12-03"),
    flag("cacheReload", "cache_reload_enabled", "cache_reload_disabled", "").experimental(),
    flag("streamsNodejsV24Compat", "enable_streams_nodejs_v24_compat", "disable_streams_nodejs_v24_compat", ""),
    flag("pythonCheckRngState", "python_check_rng_state", "disable_python_check_rng_state", "").implied_by(&["pythonWorkers"], "2025-12-16"),
    flag("shouldSetImmutablePrototype", "immutable_api_prototypes", "mutable_api_prototypes", ""),
    flag("fetchIterableTypeSupport", "fetch_iterable_type_support", "no_fetch_iterable_type_support", "2026-02-19"),
    flag("envModuleNullableSupport", "env_module_nullable_support", "no_env_module_nullable_support", ""),
    flag("preciseTimers", "precise_timers", "no_precise_timers", "").experimental(),
    flag("fetchIterableTypeSupportOverrideAdjustment", "fetch_iterable_type_support_override_adjustment", "no_fetch_iterable_type_support_override_adjustment", "").implied_by(&["fetchIterableTypeSupport"], "2026-01-15"),
    flag("stripBomInReadAllText", "strip_bom_in_read_all_text", "do_not_strip_bom_in_read_all_text", "2026-01-13").implied_by(&["pedanticWpt"], "2026-01-13"),
    flag("allowIrrevocableStubStorage", "allow_irrevocable_stub_storage", "", ""),
    flag("rpcParamsDupStubs", "rpc_params_dup_stubs", "rpc_params_transfer_stubs", "2026-01-20"),
    flag("enableNodejsGlobalTimers", "enable_nodejs_global_timers", "no_nodejs_global_timers", "").implied_by(&["nodeJsCompat"], "2026-02-10"),
    flag("noAutoAllocateChunkSize", "streams_no_default_auto_allocate_chunk_size", "streams_auto_allocate_chunk_size_default", "").experimental(),
    flag("pythonWorkflowsImplicitDeps", "python_workflows_implicit_dependencies", "no_python_workflows_implicit_dependencies", "").implied_by(&["pythonWorkers"], "2026-02-25"),
    flag("requireReturnsDefaultExport", "require_returns_default_export", "require_returns_namespace", "2026-01-22"),
    flag("pythonRequestHeadersPreserveCommas", "python_request_headers_preserve_commas", "disable_python_request_headers_preserve_commas", "2026-02-17"),
    flag("queueExposeErrorCodes", "queue_expose_error_codes", "no_queue_expose_error_codes", "2026-03-12"),
    flag("textDecoderReplaceSurrogates", "text_decoder_replace_surrogates", "disable_text_decoder_replace_surrogates", "2026-02-24").implied_by(&["pedanticWpt"], "2026-02-24"),
    flag("containersPidNamespace", "containers_pid_namespace", "no_containers_pid_namespace", "2026-04-01"),
    flag("deleteAllDeletesAlarm", "delete_all_deletes_alarm", "delete_all_preserves_alarm", "2026-02-24"),
    flag("unhandledRejectionAfterMicrotaskCheckpoint", "unhandled_rejection_after_microtask_checkpoint", "no_unhandled_rejection_after_microtask_checkpoint", "2026-03-03"),
    flag("textDecoderCjkDecoder", "text_decoder_cjk_decoder", "disable_text_decoder_cjk_decoder", "2026-03-03"),
    flag("websocketCloseReasonByteLimit", "websocket_close_reason_byte_limit", "no_websocket_close_reason_byte_limit", "2026-03-03"),
    flag("enableVersionApi", "enable_version_api", "", "").experimental(),
    flag("websocketBinaryTypeDefault", "websocket_standard_binary_type", "no_websocket_standard_binary_type", "2026-03-17"),
    flag("writableStreamSpecCompliantWriter", "writable_stream_spec_compliant_writer", "no_writable_stream_spec_compliant_writer", "2026-03-24"),
    flag("encoderStreamSpecCompliantBackpressure", "encoder_stream_spec_compliant_backpressure", "no_encoder_stream_spec_compliant_backpressure", "2026-03-24"),
    flag("specCompliantPropertyAttributes", "spec_compliant_property_attributes", "no_spec_compliant_property_attributes", "").experimental(),
    flag("workflowsPreserveNonRetryableErrorMessage", "workflows_preserve_non_retryable_error_message", "workflows_replace_non_retryable_error_message", "2026-05-14"),
    flag("webSocketAutoReplyToClose", "web_socket_auto_reply_to_close", "web_socket_manual_reply_to_close", "2026-04-07"),
    flag("enableCtxVersionMetadata", "enable_ctx_version_metadata", "", "").experimental(),
    flag("noResizableArrayBufferInBlob", "no_resizable_array_buffer_in_blob", "resizable_array_buffer_in_blob", ""),
    flag("diagnosticsChannelHasSubscribersGetter", "diagnostics_channel_has_subscribers_getter", "no_diagnostics_channel_has_subscribers_getter", "2026-05-19"),
    flag("workflowsStepRollback", "workflows_step_rollback", "", "").experimental(),
    flag("pythonProcessPthFiles", "python_process_pth_files", "disable_python_process_pth_files", "2026-05-26"),
    flag("throwOnNotImplementedTlsOptions", "throw_on_not_implemented_tls_options", "no_throw_on_not_implemented_tls_options", "2026-06-16"),
    flag("autoGrpcConvert", "auto_grpc_convert", "", ""),
    flag("pythonWorkers20260610", "python_workers_20260610", "no_python_workers_20260610", ""),
    flag("enableNodeJsInspectorLocalDev", "enable_nodejs_inspector_local_dev", "", "").experimental(),
    flag("d1BindingJsrpc", "d1_binding_jsrpc", "", "").experimental(),
    flag("workflowsBindingsRpc", "workflows_bindings_rpc", "", "").experimental(),
    flag("typeScriptImplementedStreams", "typescript_implemented_streams", "", "").experimental(),
    flag("exposeDrainingReader", "expose_draining_reader", "", "").experimental(),
    flag("workflowsEnableFastEngineCreation", "workflows_enable_fast_engine_creation", "workflows_disable_fast_engine_creation", "2026-08-11"),
    flag("wasmMemoryDiscard", "wasm_memory_discard", "", "").experimental(),
    flag("pythonWorkers314", "python_workers_314", "no_python_workers_314", "").implied_by(&["pythonWorkers"], "2026-09-08"),
    flag("specCompliantDispatchExceptions", "spec_compliant_dispatch_exceptions", "no_spec_compliant_dispatch_exceptions", "2026-09-15"),
    flag("autoInjectPythonWorkers", "auto_inject_python_workers", "no_auto_inject_python_workers", "").experimental(),
    flag("durableObjectIoTasksPreventEviction", "durable_object_io_tasks_prevent_eviction", "durable_object_io_tasks_do_not_prevent_eviction", "2026-10-01"),
    flag("webCryptoModernAlgorithms", "webcrypto_modern_algorithms", "", ""),
    flag("wasmEsmIntegrationBuiltins", "wasm_esm_integration_builtins", "", ""),
    flag("pipeToBackwardPropagation", "pipe_to_backward_propagation", "no_pipe_to_backward_propagation", "2026-11-17"),
    flag("cacheOptionPreservesCacheControl", "cache_option_preserves_cache_control", "cache_option_overrides_cache_control", "2026-11-17"),
    flag("durableObjectSnapshots", "durable_object_snapshots", "", "").experimental(),
    flag("connectHandlerStartTls", "connect_handler_starttls", "", "").experimental(),
    flag("offpeakLocationHint", "offpeak_location_hint", "", "").experimental(),
    flag("pythonSharedStandardLibrary", "python_shared_standard_library", "", "").implied_by(&["pythonWorkers"], "2026-11-19"),
    flag("wasmSourceUrlSupport", "wasm_source_url_support", "no_wasm_source_url_support", "2026-12-01"),
    flag("temporal", "temporal", "no_temporal", "2026-12-01"),
    flag("pythonZstdSnapshot", "python_zstd_snapshot", "", "").experimental(),
    flag("nodeJsProcessVersion24", "nodejs_process_version_24", "no_nodejs_process_version_24", "2026-11-24"),
];

const WORDS: usize = 4;
const _: () = assert!(FLAGS.len() <= WORDS * 64, "CompatFlags has too few bits");

/// A Worker's resolved flags: one bit per [`FLAGS`] entry. Small and `Copy`, so every isolate
/// can keep one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CompatFlags {
    bits: [u64; WORDS],
}

/// The index of an enable-flag in [`FLAGS`], checked at compile time when used in a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagId(usize);

impl FlagId {
    /// The id of enable-flag `name`; panics (a compile error in a `const`) if there is none.
    pub const fn of(name: &str) -> FlagId {
        match index_of(name) {
            Some(index) => FlagId(index),
            None => panic!("unknown compatibility flag"),
        }
    }
}

const fn index_of(name: &str) -> Option<usize> {
    let mut i = 0;
    while i < FLAGS.len() {
        if str_eq(FLAGS[i].enable, name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl CompatFlags {
    /// Whether the flag whose enable-flag is `name` is on (`false` for an unknown name).
    pub fn is_enabled(&self, name: &str) -> bool {
        index_of(name).is_some_and(|i| self.get(i))
    }

    /// Whether `id` is on: a bit test.
    pub fn has(&self, id: FlagId) -> bool {
        self.get(id.0)
    }

    /// The flags on by default at `date` (no flags listed): what [`resolve`] gives a valid date.
    pub fn for_date(date: &str) -> CompatFlags {
        match resolve(
            Some(date),
            &[],
            &Options { experimental: true, today: Some("9999-12-31".into()), ..Options::default() },
        ) {
            Ok(resolved) => resolved.flags,
            Err(_) => CompatFlags::default(),
        }
    }

    /// The enable-flag names that are on, in table order.
    pub fn enabled_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        FLAGS.iter().enumerate().filter(|(i, _)| self.get(*i)).map(|(_, f)| f.enable)
    }

    fn get(&self, index: usize) -> bool {
        self.bits.get(index / 64).is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    fn set(&mut self, index: usize, on: bool) {
        if let Some(word) = self.bits.get_mut(index / 64) {
            if on {
                *word |= 1 << (index % 64);
            } else {
                *word &= !(1 << (index % 64));
            }
        }
    }
}

/// The command-line settings resolution depends on.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--experimental`: experimental flags are allowed.
    pub experimental: bool,
    /// `--compat-date`: the date of every Worker, which must then set none.
    pub compat_date: Option<String>,
    /// Today's date (UTC) as `YYYY-MM-DD`; `None` reads the system clock.
    pub today: Option<String>,
}

/// A successful resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub flags: CompatFlags,
    /// workerd's warnings (flags that are the default already), in its wording.
    pub warnings: Vec<String>,
}

/// One of the problems [`resolve`] reports, in workerd's wording (without the `service NAME: `
/// prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Whether it is about the date (rather than the flags), to point at the right span.
    pub about_date: bool,
    pub message: String,
}

/// A failed resolution: every error workerd would report, in its order, then its warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    pub errors: Vec<Problem>,
    pub warnings: Vec<String>,
}

/// Resolves a Worker's date and flags as workerd does, reporting every problem rather than the
/// first: flags given twice, the date (format, newer than [`NEWEST_COMPATIBILITY_DATE`], in the
/// future), contradictory and experimental flags in table order, then unknown flags.
pub fn resolve(date: Option<&str>, flags: &[String], options: &Options) -> Result<Resolved, Problems> {
    let fatal = |message: &str| Problems {
        errors: vec![Problem { about_date: true, message: message.to_owned() }],
        warnings: Vec::new(),
    };
    let date = match (date, options.compat_date.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(fatal(
                "Worker specifies compatibilityDate but --compat-date was provided. When using --compat-date, \
                 workers must not specify compatibilityDate in the config. Use compatibilityFlags to enable/disable \
                 specific flags if needed.",
            ))
        }
        (Some(date), None) | (None, Some(date)) => date,
        (None, None) => return Err(fatal("Worker must specify compatibilityDate.")),
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut error = |about_date: bool, message: String| errors.push(Problem { about_date, message });

    let mut listed: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for flag in flags {
        if seen.insert(flag.as_str()) {
            listed.push(flag);
        } else {
            error(false, format!("Compatibility flag specified multiple times: {flag}"));
        }
    }

    // An unusable date resolves as the oldest (invalid) or the newest (too new) one.
    let effective = if !is_valid_date(date) {
        error(true, format!("Invalid compatibility date: {date}"));
        "0000-00-00"
    } else {
        let mut effective = date;
        if date > NEWEST_COMPATIBILITY_DATE {
            error(
                true,
                format!(
                    "This Worker requires compatibility date \"{date}\", but the newest date supported by this \
                     server binary is \"{NEWEST_COMPATIBILITY_DATE}\"."
                ),
            );
            effective = NEWEST_COMPATIBILITY_DATE;
        }
        let today = options.today.clone().unwrap_or_else(today_utc);
        if date > today.as_str() {
            error(
                true,
                format!("Can't set compatibility date in the future: \"{date}\". Today's date (UTC) is \"{today}\"."),
            );
        }
        effective
    };

    let mut resolved = CompatFlags::default();
    let mut known = HashSet::new();
    for (index, flag) in FLAGS.iter().enumerate() {
        let enabled = seen.contains(flag.enable);
        let disabled = flag.disable.is_some_and(|d| seen.contains(d));
        known.insert(flag.enable);
        if let Some(disable) = flag.disable {
            known.insert(disable);
        }
        let by_date = flag.all_dates || flag.date.is_some_and(|d| effective >= d);
        if enabled && disabled {
            let disable = flag.disable.unwrap_or_default();
            error(false, format!("Compatibility flags are mutually contradictory: {} vs {disable}", flag.enable));
        }
        if enabled && flag.experimental && !options.experimental {
            error(
                false,
                format!(
                    "The compatibility flag {} is experimental and may break or be removed in a future version of \
                     workerd. To use this flag, you must pass --experimental on the command line.",
                    flag.enable
                ),
            );
        }
        if enabled && flag.all_dates {
            warnings.push(format!(
                "The compatibility flag {} is the default, so does not need to be specified anymore.",
                flag.enable
            ));
        } else if enabled && by_date {
            let since = flag.date.unwrap_or_default();
            warnings.push(format!(
                "The compatibility flag {} became the default as of {since} so does not need to be specified anymore.",
                flag.enable
            ));
        }
        let implied = flag.implied_after.is_some_and(|after| effective >= after)
            && flag
                .implied_by
                .iter()
                .any(|field| FLAGS.iter().position(|f| f.field == *field).is_some_and(|i| resolved.get(i)));
        resolved.set(index, (by_date || enabled || implied) && !disabled);
    }
    for flag in &listed {
        if !known.contains(flag) {
            error(false, format!("No such compatibility flag: {flag}"));
        }
    }
    if errors.is_empty() {
        Ok(Resolved { flags: resolved, warnings })
    } else {
        Err(Problems { errors, warnings })
    }
}

/// workerd's date format: `YYYY-MM-DD` with a year from 2000, a month 1–12 and a day 1–31 (it
/// does not check the month's length: `2023-02-30` is accepted).
pub fn is_valid_date(date: &str) -> bool {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = date.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (Some(year), Some(month), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    year >= 2000 && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Today's date in UTC, from the system clock.
fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil_date((secs / 86_400) as i64)
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options { today: Some("2026-12-01".into()), ..Options::default() }
    }

    fn flags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn errors(date: Option<&str>, list: &[&str], options: &Options) -> Vec<String> {
        match resolve(date, &flags(list), options) {
            Ok(_) => Vec::new(),
            Err(p) => p.errors.into_iter().map(|e| e.message).collect(),
        }
    }

    #[test]
    fn table_is_consistent() {
        let mut names = HashSet::new();
        for flag in FLAGS {
            assert!(names.insert(flag.enable), "{} twice", flag.enable);
            if let Some(d) = flag.disable {
                assert!(names.insert(d), "{d} twice");
            }
            for date in flag.date.iter().chain(flag.implied_after.iter()) {
                assert!(is_valid_date(date), "{date}");
            }
            for field in flag.implied_by {
                assert!(FLAGS.iter().any(|f| f.field == *field), "{field}");
            }
        }
        assert_eq!(FLAGS.len(), 201);
    }

    #[test]
    fn dates_enable_flags() {
        const NAV: FlagId = FlagId::of("global_navigator");
        assert!(!CompatFlags::for_date("2022-03-20").has(NAV));
        assert!(CompatFlags::for_date("2022-03-21").has(NAV));
        assert!(CompatFlags::for_date("2024-09-01").is_enabled("formdata_parser_supports_files"));
        assert!(!CompatFlags::for_date("2021-11-02").is_enabled("formdata_parser_supports_files"));
        // All dates, and never by date.
        assert!(CompatFlags::for_date("2000-01-01").is_enabled("r2_public_beta_bindings"));
        assert!(!CompatFlags::for_date("2024-09-01").is_enabled("nodejs_compat"));
        assert!(!CompatFlags::for_date("2024-09-01").is_enabled("no_such_flag"));
    }

    #[test]
    fn flags_and_their_opposites() {
        let r = resolve(Some("2021-01-01"), &flags(&["global_navigator"]), &opts()).unwrap();
        assert!(r.flags.is_enabled("global_navigator"));
        assert!(r.warnings.is_empty());
        let r = resolve(Some("2024-09-01"), &flags(&["no_global_navigator"]), &opts()).unwrap();
        assert!(!r.flags.is_enabled("global_navigator"));
        let r = resolve(Some("2024-09-01"), &flags(&["global_navigator"]), &opts()).unwrap();
        assert_eq!(
            r.warnings,
            ["The compatibility flag global_navigator became the default as of 2022-03-21 so does not need to be specified anymore."]
        );
    }

    #[test]
    fn implied_flags() {
        let r = resolve(Some("2024-09-23"), &flags(&["nodejs_compat"]), &opts()).unwrap();
        assert!(r.flags.is_enabled("nodejs_compat_v2"));
        let r = resolve(Some("2024-09-22"), &flags(&["nodejs_compat"]), &opts()).unwrap();
        assert!(!r.flags.is_enabled("nodejs_compat_v2"));
        let r = resolve(Some("2024-09-23"), &flags(&["nodejs_compat", "no_nodejs_compat_v2"]), &opts()).unwrap();
        assert!(!r.flags.is_enabled("nodejs_compat_v2"));
    }

    #[test]
    fn errors_in_workerd_order() {
        // Checked against workerd 1.20261117.1 (its own newest date differs).
        assert_eq!(
            errors(
                Some("2099-01-01"),
                &["zz", "experimental", "nodejs_compat", "global_navigator", "nodejs_compat", "no_global_navigator", "aa"],
                &opts()
            ),
            [
                "Compatibility flag specified multiple times: nodejs_compat".to_owned(),
                format!("This Worker requires compatibility date \"2099-01-01\", but the newest date supported by this server binary is \"{NEWEST_COMPATIBILITY_DATE}\"."),
                "Can't set compatibility date in the future: \"2099-01-01\". Today's date (UTC) is \"2026-12-01\".".to_owned(),
                "Compatibility flags are mutually contradictory: global_navigator vs no_global_navigator".to_owned(),
                "The compatibility flag experimental is experimental and may break or be removed in a future version of workerd. To use this flag, you must pass --experimental on the command line.".to_owned(),
                "No such compatibility flag: zz".to_owned(),
                "No such compatibility flag: aa".to_owned(),
            ]
        );
        assert_eq!(errors(Some("2024-13-01"), &[], &opts()), ["Invalid compatibility date: 2024-13-01"]);
        assert_eq!(errors(None, &["zz"], &opts()), ["Worker must specify compatibilityDate."]);
        let experimental = Options { experimental: true, ..opts() };
        assert!(errors(Some("2024-09-01"), &["experimental"], &experimental).is_empty());
        let overridden = Options { compat_date: Some("2021-01-01".into()), ..opts() };
        assert!(errors(None, &[], &overridden).is_empty());
        assert!(errors(Some("2024-09-01"), &[], &overridden)[0].starts_with("Worker specifies compatibilityDate but"));
    }

    #[test]
    fn workerd_date_format() {
        for ok in ["2024-09-01", "2000-01-01", "2023-02-30", "2023-04-31", "2099-12-31"] {
            assert!(is_valid_date(ok), "{ok}");
        }
        for bad in [
            "1999-12-31",
            "0000-00-00",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "2024-01-32",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "2024-01-01x",
            " 2024-01-01",
            "",
            "２０２４-01-01",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_783), "2024-03-01");
        assert_eq!(civil_date(20_788), "2026-12-01");
    }
}
