// Command packbench-agent serves one benchmark host's agent over gRPC: it
// runs the packs a coordinator asks for, one at a time, with the binaries
// and models of its allowlist only, and keeps finished results and logs in
// its state directory.
//
// With --tls-cert, --tls-key and --tls-ca (all three) it serves mutual TLS
// and answers only clients holding a coordinator certificate of that CA.
// Without them it serves plaintext, on a loopback address only unless
// --insecure, and warns at every start.
//
// Settings come from flags, or from a JSON file given with --config whose
// keys are listen, name, state_dir, allow, log_level, tls_cert, tls_key,
// tls_ca, allow_extra_args, allowed_extra_args and limits; flags override
// it. limits holds max_instances, max_threads, max_n_predict, max_ctx_size,
// max_prompt_bytes, max_extra_args, max_arg_bytes, max_timeout_seconds,
// max_recv_msg_bytes, max_concurrent_streams, rpc_timeout_seconds and
// preflight_timeout_seconds; a missing or zero key keeps its default.
package main
