//! Bad input about queues, as rows for `bad_input_cases` (same base scenario: a service
//! `api` calling a database `db`).

use crate::bad_input_cases::{Case, problem, problem_on};
use serde_json::json;

/// A queue named `jobs`, valid.
fn jobs() -> (&'static str, serde_json::Value) {
    (
        "components.jobs",
        json!({"kind": "queue", "machine": {"cores": 1}}),
    )
}

pub(crate) fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a send to something that is not a queue",
            edits: vec![(
                "components.api.handlers.default[0]",
                json!({"send": {"queue": "db", "message": "default"}}),
            )],
            problems: vec![problem(
                "components.api.handlers.default[0].send.queue",
                "`db` is not a queue: a service can only send to a component of kind `queue`",
            )],
        },
        Case {
            name: "a send of a message class that does not exist suggests one",
            edits: vec![
                jobs(),
                (
                    "components.api.handlers.default[1]",
                    json!({"send": {"queue": "jobs", "message": "defualt"}}),
                ),
            ],
            problems: vec![problem(
                "components.api.handlers.default[1].send.message",
                "no request class named `defualt`; did you mean `default`?",
            )],
        },
        Case {
            name: "a call to a queue says to send instead",
            edits: vec![
                jobs(),
                (
                    "components.api.handlers.default[1]",
                    json!({"call": "jobs"}),
                ),
            ],
            problems: vec![problem(
                "components.api.handlers.default[1].call",
                "`jobs` is a queue: send it messages with",
            )],
        },
        Case {
            name: "consuming something that is not a queue",
            edits: vec![("components.api.consumes", json!({"queue": "db"}))],
            problems: vec![problem(
                "components.api.consumes.queue",
                "`db` is not a queue: a service can only consume a component of kind `queue`",
            )],
        },
        Case {
            name: "a consumer's numbers out of range",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "batch_size": 0, "concurrency": 20000}),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.consumes.batch_size",
                    "must be from 1 to 1000, got 0",
                ),
                problem(
                    "components.api.consumes.concurrency",
                    "must be from 1 to 10000, got 20000",
                ),
            ],
        },
        Case {
            name: "a queue whose calls cost nothing",
            edits: vec![
                jobs(),
                (
                    "components.jobs.request_cpu_ms",
                    json!({"constant": {"ms": 0}}),
                ),
            ],
            problems: vec![problem(
                "components.jobs.request_cpu_ms",
                "every API call costs the broker some CPU",
            )],
        },
        Case {
            name: "a visibility timeout of 0",
            edits: vec![jobs(), ("components.jobs.visibility_timeout_s", json!(0))],
            problems: vec![problem(
                "components.jobs.visibility_timeout_s",
                "must be a finite number > 0, got 0",
            )],
        },
        Case {
            name: "a publish to a queue, and a subscription of nothing",
            edits: vec![
                jobs(),
                (
                    "components.api.handlers.default[1]",
                    json!({"publish": {"topic": "jobs", "message": "default"}}),
                ),
                (
                    "components.t",
                    json!({"kind": "topic", "machine": {"cores": 1}, "subscribers": [{}]}),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.handlers.default[1].publish.topic",
                    "`jobs` is not a topic: a service can only publish to a component of kind `topic`",
                ),
                problem_on(
                    "components.t.subscribers[0]",
                    "give exactly one of `queue` (durable) or `service` (a push)",
                    "{}",
                ),
            ],
        },
        Case {
            name: "retries on a queue subscription, and a push to a database",
            edits: vec![
                jobs(),
                (
                    "components.t",
                    json!({"kind": "topic", "machine": {"cores": 1}, "subscribers": [
                        {"queue": "jobs", "retries": 2}, {"service": "db"}
                    ]}),
                ),
            ],
            problems: vec![
                problem(
                    "components.t.subscribers[0].retries",
                    "a queue keeps what it accepts: retries are for pushes to a service",
                ),
                problem(
                    "components.t.subscribers[1].service",
                    "`db` is not a service: a topic pushes to services (or sends to queues)",
                ),
            ],
        },
        Case {
            name: "users calling a topic",
            edits: vec![
                ("workload.entry", json!("t")),
                (
                    "components.t",
                    json!({"kind": "topic", "machine": {"cores": 1}, "subscribers": [{"service": "api"}]}),
                ),
            ],
            problems: vec![problem(
                "workload.entry",
                "`t` is a topic: users cannot call it; make a service the entry and have it `publish` to the topic",
            )],
        },
        Case {
            name: "a job on a database, starting after the end",
            edits: vec![(
                "jobs.nightly",
                json!({"service": "db", "task": "default", "tasks": 10, "at_s": [5, 20]}),
            )],
            problems: vec![
                problem(
                    "jobs.nightly.service",
                    "`db` is not a service: a job's tasks run a service's handler",
                ),
                problem_on(
                    "jobs.nightly.at_s[1]",
                    "starts after the run's end (10 s)",
                    "20",
                ),
            ],
        },
        Case {
            name: "a queue subscribed twice (a consumer feeding its own queue is only warned of)",
            edits: vec![
                jobs(),
                (
                    "components.t",
                    json!({"kind": "topic", "machine": {"cores": 1}, "subscribers": [
                        {"queue": "jobs"}, {"queue": "jobs"}
                    ]}),
                ),
                ("components.api.consumes", json!({"queue": "jobs"})),
                (
                    "components.api.handlers.default[1]",
                    json!({"send": {"queue": "jobs", "message": "default"}}),
                ),
            ],
            problems: vec![problem_on(
                "components.t.subscribers[1]",
                "subscribes the same queue or service twice: give it once",
                "{",
            )],
        },
        Case {
            name: "a queue age objective without a queue",
            edits: vec![(
                "slos",
                json!({"max_queue_age_s": 30, "max_queue_depth": 1000}),
            )],
            problems: vec![
                problem(
                    "slos.max_queue_age_s",
                    "is about queues and the scenario has none: remove it, or add a component",
                ),
                problem(
                    "slos.max_queue_depth",
                    "is about queues and the scenario has none",
                ),
            ],
        },
        Case {
            name: "a prefetch on a pulling consumer",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "prefetch": 10}),
                ),
            ],
            problems: vec![problem(
                "components.api.consumes.prefetch",
                "`prefetch` bounds what the queue pushes to a replica, and this consumer pulls",
            )],
        },
        Case {
            name: "a pushed consumer with pull settings and a zero prefetch",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "polling": "push", "prefetch": 0,
                           "concurrency": 8, "batch_size": 10}),
                ),
            ],
            problems: vec![
                problem("components.api.consumes.prefetch", "must be from 1 to"),
                problem(
                    "components.api.consumes.concurrency",
                    "`concurrency` is for pulling consumers",
                ),
                problem(
                    "components.api.consumes.batch_size",
                    "`batch_size` is for pulling consumers",
                ),
            ],
        },
        Case {
            name: "a log with no partitions, pushed to, and called",
            edits: vec![
                (
                    "components.events",
                    json!({"kind": "log", "machine": {"cores": 1}, "partitions": 0}),
                ),
                (
                    "components.api.consumes",
                    json!({"queue": "events", "polling": "push"}),
                ),
                (
                    "components.api.handlers.default[1]",
                    json!({"call": "events"}),
                ),
            ],
            problems: vec![
                problem(
                    "components.events.partitions",
                    "must be from 1 to 10000, got 0",
                ),
                problem(
                    "components.api.consumes.polling",
                    "`events` is a log: its consumers fetch",
                ),
                problem(
                    "components.api.handlers.default[1].call",
                    "`events` is a log: append to it with",
                ),
            ],
        },
        Case {
            name: "a queue's delivery rule on a log",
            edits: vec![(
                "components.events",
                json!({"kind": "log", "machine": {"cores": 1}, "partitions": 4,
                       "visibility_timeout_s": 30}),
            )],
            problems: vec![problem(
                "components.events.visibility_timeout_s",
                "unknown field `visibility_timeout_s`",
            )],
        },
        Case {
            name: "message groups on a queue that is not FIFO",
            edits: vec![(
                "components.jobs",
                json!({"kind": "queue", "machine": {"cores": 1}, "message_groups": 8}),
            )],
            problems: vec![problem(
                "components.jobs.message_groups",
                "message groups are a FIFO queue's: add \"fifo\": true",
            )],
        },
        Case {
            name: "a FIFO queue of no message group",
            edits: vec![(
                "components.jobs",
                json!({"kind": "queue", "machine": {"cores": 1}, "fifo": true,
                       "message_groups": 0}),
            )],
            problems: vec![problem("components.jobs.message_groups", "")],
        },
        Case {
            name: "a dead-letter queue that is not a queue, and no max_receives",
            edits: vec![(
                "components.jobs",
                json!({"kind": "queue", "machine": {"cores": 1}, "dead_letter_queue": "db"}),
            )],
            problems: vec![
                problem(
                    "components.jobs.dead_letter_queue",
                    "`db` is not a queue: a dead-letter queue is a component of kind `queue`",
                ),
                problem(
                    "components.jobs.dead_letter_queue",
                    "a message goes to the dead-letter queue after max_receives receives: give",
                ),
            ],
        },
        Case {
            name: "a queue that is its own dead-letter queue",
            edits: vec![(
                "components.jobs",
                json!({"kind": "queue", "machine": {"cores": 1}, "max_receives": 3,
                       "dead_letter_queue": "jobs"}),
            )],
            problems: vec![problem(
                "components.jobs.dead_letter_queue",
                "a queue cannot be its own dead-letter queue",
            )],
        },
        Case {
            name: "a dead-letter queue misspelt",
            edits: vec![(
                "components.jobs",
                json!({"kind": "queue", "machine": {"cores": 1}, "max_receives": 3,
                       "dead_letter_queue": "jbos"}),
            )],
            problems: vec![problem(
                "components.jobs.dead_letter_queue",
                "no component named `jbos`; did you mean `jobs`?",
            )],
        },
        Case {
            name: "a batch job that also long-polls, and a pushed batch",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "every_s": 5, "polling": "short", "process": "batch"}),
                ),
            ],
            problems: vec![problem(
                "components.api.consumes.polling",
                "a consumer with `every_s` runs as a batch job",
            )],
        },
        Case {
            name: "a batch job every 0 s",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "every_s": 0}),
                ),
            ],
            problems: vec![problem("components.api.consumes.every_s", "")],
        },
        Case {
            name: "whole batches pushed",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "polling": "push", "process": "batch"}),
                ),
            ],
            problems: vec![problem(
                "components.api.consumes.process",
                "a pushed message arrives alone",
            )],
        },
        Case {
            name: "a batch step with both counts, and one with neither",
            edits: vec![
                (
                    "components.api.handlers.default[1]",
                    json!({"batch": {"call": "db", "queries": 2, "queries_per_message": 1}}),
                ),
                (
                    "components.api.handlers.default[2]",
                    json!({"batch": {"call": "db"}}),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.handlers.default[1].batch.queries_per_message",
                    "give `queries` (a fixed count) or `queries_per_message`",
                ),
                problem(
                    "components.api.handlers.default[2].batch",
                    "a batch needs `queries`",
                ),
            ],
        },
        Case {
            name: "a batch of more queries than one call carries",
            edits: vec![
                jobs(),
                (
                    "components.api.consumes",
                    json!({"queue": "jobs", "batch_size": 1000, "process": "batch"}),
                ),
                (
                    "components.api.handlers.default[1]",
                    json!({"batch": {"call": "db", "queries_per_message": 100}}),
                ),
            ],
            problems: vec![problem(
                "components.api.consumes.batch_size",
                "handlers.default[1] sends 100 queries per message",
            )],
        },
        Case {
            name: "no class users send",
            edits: vec![("workload.classes", json!({"only": {"weight": 0}}))],
            problems: vec![problem("workload.classes", "no class has a weight above 0")],
        },
    ]
}
