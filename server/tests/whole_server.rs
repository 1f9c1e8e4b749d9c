//! The whole-server fuzz target's driver ([`server::in_memory`]) on stable:
//! the regression corpus `fuzz/seeds/server/` replayed (so `cargo xtask
//! test` replays it), proof that a hang and a server panic are reported,
//! and the generator of the seeds.
//!
//! The seeds are written by `cargo test -p server --test whole_server --
//! --ignored write_seeds` (files named here are overwritten, others, such
//! as minimised crashes added by hand, are kept) and committed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use server::in_memory::{burst, encode, finish_within, frames, Driver, Eio, Step};

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/server")
}

/// The message of a caught panic.
fn message(panic: Box<dyn std::any::Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(text) => *text,
        Err(panic) => match panic.downcast::<&str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "(not a string)".to_owned(),
        },
    }
}

#[test]
fn the_regression_corpus_replays() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(seeds_dir())
        .expect("fuzz/seeds/server/")
        .map(|entry| entry.expect("a seed").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= seeds().len(),
        "fuzz/seeds/server/ holds {} files, fewer than the {} seeds written here: \
         rewrite them with `cargo test -p server --test whole_server -- --ignored write_seeds`",
        files.len(),
        seeds().len()
    );
    let mut driver = Driver::new();
    for file in files {
        let input = std::fs::read(&file).expect("a readable seed");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| driver.run(&input))) {
            panic!("{}: {}", file.display(), message(panic));
        }
    }
}

#[test]
fn a_client_session_reaches_the_handlers_over_polling_and_websocket() {
    let mut driver = Driver::new();
    let before = driver.state().stats.identify_events();
    let polling = [
        Step::Open {
            eio: Eio::V4,
            b64: false,
        },
        v4_post(b"40/iss,"),
        Step::Poll {
            eio: Eio::V4,
            background: false,
        },
        v4_post(br#"42/iss,0["identify","Ada"]"#),
        Step::Poll {
            eio: Eio::V4,
            background: false,
        },
    ];
    driver.run(&encode(&polling));
    let websocket = Step::WebSocket {
        eio: Eio::V3,
        upgrade: false,
        frames: frames(&[
            (0x81, b"40/iss"),
            (0x81, br#"42/iss,1["identify","Grace"]"#),
        ]),
    };
    driver.run(&encode(&[websocket]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while driver.state().stats.identify_events() < before + 2 {
        assert!(
            Instant::now() < deadline,
            "the two identifies never arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_job_that_blocks_its_runtime_misses_its_deadline() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let spin = async { std::thread::sleep(Duration::from_secs(2)) };
    let caught = catch_unwind(|| {
        finish_within(
            runtime.handle(),
            Duration::from_millis(200),
            "the spin",
            spin,
        )
    });
    let text = message(caught.expect_err("the deadline is missed"));
    assert!(text.contains("hang: the spin"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(1), "reported late");
    runtime.shutdown_timeout(Duration::from_secs(3));
}

#[test]
fn a_frozen_server_is_reported_as_a_hang() {
    let mut driver = Driver::with_deadline(Duration::from_millis(500));
    let (frozen, freezing) = std::sync::mpsc::channel();
    driver.server().spawn(async move {
        frozen.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    freezing.recv().unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| driver.run(&encode(&[Step::Health]))));
    let text = message(caught.expect_err("the frozen server is noticed"));
    assert!(text.starts_with("hang: step 0 (HEALTH)"), "{text}");
}

#[test]
fn a_connection_the_server_keeps_is_reported() {
    let mut driver = Driver::with_deadline(Duration::from_millis(300));
    // Open, silent: the server waits for its head for the 1 s head timeout.
    let _kept = driver.connector().connect().unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| driver.run(b"")));
    let text = message(caught.expect_err("the open connection is noticed"));
    assert!(
        text.starts_with("hang: the server closing every connection"),
        "{text}"
    );
}

#[test]
fn a_panic_on_a_server_thread_is_reported() {
    let mut driver = Driver::new();
    let task = driver.server().spawn(async { panic!("injected") });
    while !task.is_finished() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let caught = catch_unwind(AssertUnwindSafe(|| driver.run(b"")));
    let text = message(caught.expect_err("the panic is noticed"));
    assert!(text.contains("a server thread panicked"), "{text}");
}

/// Writes the seeds into `fuzz/seeds/server/`.
#[test]
#[ignore = "writes fuzz/seeds/server/; run by hand"]
fn write_seeds() {
    std::fs::create_dir_all(seeds_dir()).unwrap();
    for (name, steps) in seeds() {
        std::fs::write(seeds_dir().join(name), encode(&steps)).unwrap();
    }
}

fn v3_post(body: &[u8]) -> Step {
    Step::Post {
        eio: Eio::V3,
        binary: false,
        body: body.to_vec(),
    }
}

fn v4_post(body: &[u8]) -> Step {
    Step::Post {
        eio: Eio::V4,
        binary: false,
        body: body.to_vec(),
    }
}

fn open(eio: Eio) -> Step {
    Step::Open { eio, b64: false }
}

fn poll(eio: Eio) -> Step {
    Step::Poll {
        eio,
        background: false,
    }
}

/// Raw bytes, ending the stream at once.
fn head(bytes: &[u8]) -> Step {
    Step::Raw {
        data: bytes.to_vec(),
        trickle: false,
        settle: false,
    }
}

/// Raw bytes; the server answers before the stream ends.
fn settled(bytes: &[u8]) -> Step {
    Step::Raw {
        data: bytes.to_vec(),
        trickle: false,
        settle: true,
    }
}

/// A v4 websocket that joins `/iss`, then sends `text` frames.
fn ws_after_join(texts: &[&[u8]]) -> Step {
    let mut list: Vec<(u8, &[u8])> = vec![(0x81, b"40/iss,")];
    list.extend(texts.iter().map(|text| (0x81, *text)));
    Step::WebSocket {
        eio: Eio::V4,
        upgrade: false,
        frames: frames(&list),
    }
}

/// v3 text framing: `<length>:<packet>` per packet, lengths in characters.
fn v3_framed(packets: &[&str]) -> Vec<u8> {
    let framed: String = packets
        .iter()
        .map(|p| format!("{}:{p}", p.chars().count()))
        .collect();
    framed.into_bytes()
}

/// Every seed: a file name and its steps.
fn seeds() -> Vec<(&'static str, Vec<Step>)> {
    [head_seeds(), v3_seeds(), v4_seeds(), ws_seeds()].concat()
}

fn head_seeds() -> Vec<(&'static str, Vec<Step>)> {
    let healthz = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut big =
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    big.extend(b"X-Filler: ");
    big.extend(vec![b'a'; 17_000]);
    big.extend(b"\r\n\r\n");
    vec![
        ("head-healthz-trickled", vec![Step::Raw { data: healthz.to_vec(), trickle: true, settle: true }]),
        ("head-http2-preface", vec![head(preface), Step::Health]),
        ("hold-http2-preface", vec![Step::Hold(preface.to_vec())]),
        ("head-garbage", vec![head(b"\x00\xff\r\n\r\nGET / HTTP/1.1\r\n"), head(b"\x16\x03\x01\x02\x00\x01")]),
        ("hold-unfinished-head-row60", vec![Step::Hold(b"\r\n\r\nGET / HTTP/1.1\r\n".to_vec())]),
        ("hold-keep-alive-row60", vec![Step::Hold(healthz.to_vec())]),
        (
            "hold-unfinished-upgrade-row44",
            vec![Step::Hold(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n".to_vec())],
        ),
        (
            "hold-slow-body",
            vec![Step::Hold(b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n40".to_vec())],
        ),
        (
            "head-foreign-host-origin-row23-58",
            vec![
                settled(b"GET /healthz HTTP/1.1\r\nHost: evil.test:3000\r\n\r\n"),
                settled(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\n\r\n"),
            ],
        ),
        (
            "head-bad-versions-row45",
            vec![
                settled(b"GET /socket.io/?transport=polling HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                settled(b"GET /socket.io/?EIO=2&transport=polling HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                settled(b"GET /socket.io/?EIO=5&transport=polling HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                settled(b"GET /socket.io/?EIO=4&transport=carrier-pigeon HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                settled(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            ],
        ),
        (
            "head-dot-files-row52",
            vec![
                settled(b"GET /.env HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                settled(b"GET /%2Egit/config HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            ],
        ),
        ("head-oversized-row61", vec![settled(&big)]),
        (
            "head-pipelined-handshakes-row62",
            vec![settled(&b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(4))],
        ),
        (
            "head-forged-forwarded-for-row65",
            vec![settled(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 198.51.100.7\r\n\r\n")],
        ),
        (
            "hold-partial-http2-preface-row72",
            vec![Step::Hold(b"PRI * HTTP/2.0\r\n".to_vec())],
        ),
        (
            "head-large-kept-headers-row79",
            vec![settled(&kept_headers())],
        ),
        (
            "head-v3-query-spellings-row74",
            vec![settled(b"POST /socket.io/?EIO=3=x&transport=polling&sid=x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\n1:\xf0\x9f\xa6\x80x")],
        ),
    ]
}

/// A polling handshake with a 15,000-byte `User-Agent` and a
/// `X-Forwarded-For` of 500 hops.
fn kept_headers() -> Vec<u8> {
    let hops: Vec<String> = (0..500)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let head = format!(
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: localhost\r\n\
         User-Agent: {}\r\nX-Forwarded-For: {}\r\n\r\n",
        "u".repeat(15_000),
        hops.join(", ")
    );
    head.into_bytes()
}

fn v3_seeds() -> Vec<(&'static str, Vec<Step>)> {
    let crab = b"1:\xf0\x9f\xa6\x80x".to_vec();
    let join = v3_framed(&["40/iss"]);
    let identify = v3_framed(&["40/iss", r#"42/iss,0["identify","Zoë"]"#]);
    let tiny = "2:3🦀".repeat(500);
    let resume = format!(r#"40/iss,{{"resume":"{}"}}"#, "5f0c3a9e".repeat(8));
    vec![
        (
            "v3-more-malformed-row74",
            vec![
                open(Eio::V3),
                v3_post(&join),
                v3_post("1:🦀".as_bytes()),
                v3_post(b"1:0"),
                v3_post(b"5:b4AAA"),
                v3_post(b"1:\xc3"),
                poll(Eio::V3),
            ],
        ),
        ("v3-tiny-packets-row77", vec![v3_post(tiny.as_bytes())]),
        (
            "v3-connect-with-a-token-row81",
            vec![v3_post(&v3_framed(&[&resume])), poll(Eio::V3)],
        ),
        (
            "v3-freeze-crab",
            vec![open(Eio::V3), v3_post(&crab), Step::Health],
        ),
        (
            "v3-freeze-crab-live",
            vec![
                open(Eio::V3),
                v3_post(&join),
                poll(Eio::V3),
                v3_post(&crab),
                poll(Eio::V3),
            ],
        ),
        ("v3-crab-ff", vec![v3_post(b"1:\xf0\x9f\xa6\x80\xff")]),
        ("v3-zero-length", vec![v3_post(b"0:"), v3_post(b"0:0:")]),
        (
            "v3-trailing-garbage",
            vec![
                v3_post(b"6:40/issxyz"),
                v3_post(b"2:40garbage"),
                v3_post(b"99999999999999999999:4"),
            ],
        ),
        (
            "v3-identify-double-utf8",
            vec![
                v3_post(&identify),
                poll(Eio::V3),
                v3_post("1:2".as_bytes()),
                poll(Eio::V3),
            ],
        ),
        (
            "v3-binary-framing",
            vec![
                Step::Open {
                    eio: Eio::V3,
                    b64: true,
                },
                Step::Post {
                    eio: Eio::V3,
                    binary: true,
                    body: b"\x00\x06\xff40/iss".to_vec(),
                },
                Step::Post {
                    eio: Eio::V3,
                    binary: true,
                    body: b"\x00\x09\x09\x09\xff".to_vec(),
                },
            ],
        ),
        (
            "v3-background-poll",
            vec![
                open(Eio::V3),
                Step::Poll {
                    eio: Eio::V3,
                    background: true,
                },
                v3_post(&join),
                v3_post(b"1:2"),
            ],
        ),
    ]
}

fn v4_seeds() -> Vec<(&'static str, Vec<Step>)> {
    let bad_names: Vec<String> = [
        "42",
        r#"{"name":"Ada"}"#,
        r#"["Ada"]"#,
        "true",
        r#""Ada","Grace""#,
        "null",
        r#""""#,
        r#""    ""#,
        r#""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx""#,
        r#""Ada\u0000""#,
        r#""\u202EadA""#,
        r#""\u200B""#,
        r#""Ad\u200Ba""#,
        r#""<img src=x onerror=alert(1)>""#,
        r#""Аda""#,
    ]
    .iter()
    .enumerate()
    .map(|(i, arg)| format!(r#"42/iss,{i}["identify",{arg}]"#))
    .collect();
    let names = bad_names.join("\x1e");
    vec![
        (
            "v4-identify",
            vec![
                open(Eio::V4),
                v4_post(b"40/iss,"),
                poll(Eio::V4),
                v4_post(br#"42/iss,0["identify","Ada"]"#),
                poll(Eio::V4),
                v4_post(b"41/iss,"),
            ],
        ),
        (
            "v4-joined-packets",
            vec![
                v4_post(b"40/iss,\x1e42/iss,0[\"identify\",\"Ada\"]\x1e3"),
                poll(Eio::V4),
            ],
        ),
        (
            "v4-bad-names-rows25-37",
            vec![
                v4_post(b"40/iss,"),
                v4_post(names.as_bytes()),
                poll(Eio::V4),
            ],
        ),
        (
            "v4-resume-auth-row40",
            vec![
                v4_post(br#"40/iss,{"resume":42}"#),
                poll(Eio::V4),
                v4_post(br#"40/iss,[1,2]"#),
            ],
        ),
        (
            "v4-background-poll-and-pong",
            vec![
                open(Eio::V4),
                Step::Poll {
                    eio: Eio::V4,
                    background: true,
                },
                v4_post(b"40/iss,"),
                v4_post(b"3"),
                v4_post(b"1"),
            ],
        ),
        (
            "v4-upgrade-to-websocket",
            vec![
                open(Eio::V4),
                Step::Poll {
                    eio: Eio::V4,
                    background: true,
                },
                Step::WebSocket {
                    eio: Eio::V4,
                    upgrade: true,
                    frames: frames(&[(0x81, b"2probe"), (0x81, b"5"), (0x81, b"40/iss,")]),
                },
            ],
        ),
        ("v4-oversized-body", vec![v4_post(&[b'4'; 5000])]),
        (
            "v4-unusable-names-row80",
            vec![
                v4_post(b"40/iss,"),
                v4_post("42/iss,0[\"identify\",\"Ad\u{E000}a\"]".as_bytes()),
                v4_post(
                    "42/iss,1[\"identify\",\"A\u{FFFF}\u{FDD0}\u{FFF9}\u{10FFFD}\"]".as_bytes(),
                ),
                poll(Eio::V4),
            ],
        ),
    ]
}

fn ws_seeds() -> Vec<(&'static str, Vec<Step>)> {
    let depth_bomb = [&br#"42/iss,["identify","#[..], &[b'['; 3000]].concat();
    let rows: [(&str, &[u8]); 18] = [
        ("ws-row01-empty", b""),
        ("ws-row02-unknown-engine-type", b"9"),
        ("ws-row03-letter-type", b"x"),
        ("ws-row04-client-open", br#"0{"sid":"x"}"#),
        ("ws-row05-upgrade-on-websocket", b"5"),
        ("ws-row06-empty-message", b"4"),
        ("ws-row07-unknown-socketio-type", b"49"),
        ("ws-row08-letter-socketio-type", b"4x"),
        ("ws-row09-event-without-payload", b"42/iss,"),
        ("ws-row10-truncated-json", br#"42/iss,["identify","#),
        ("ws-row11-object-payload", br#"42/iss,{"identify":"x"}"#),
        ("ws-row12-number-name", br#"42/iss,[1,"x"]"#),
        ("ws-row13-empty-array", b"42/iss,[]"),
        ("ws-row14-ack-garbage", b"43/iss,x[]"),
        (
            "ws-row15-ack-id-overflow",
            br#"42/iss,99999999999999999999999["identify","x"]"#,
        ),
        (
            "ws-row16-binary-announced",
            br#"451-/iss,["identify",{"_placeholder":true,"num":0}]"#,
        ),
        ("ws-row18-no-leading-slash", br#"42iss,["identify","y"]"#),
        (
            "ws-row21-unjoined-namespace",
            br#"42/other,["identify","Mallory"]"#,
        ),
    ];
    let mut seeds: Vec<(&'static str, Vec<Step>)> = rows
        .iter()
        .map(|(name, frame)| (*name, vec![ws_after_join(&[frame])]))
        .collect();
    let binary = frames(&[
        (0x81, b"40/iss,"),
        (0x82, b"\xff\xfe\x00"),
        (0x82, &[0xff; 200]),
    ]);
    let attachment = frames(&[
        (0x81, b"40/iss,"),
        (
            0x81,
            br#"459999-/iss,["identify",{"_placeholder":true,"num":0}]"#,
        ),
        (0x82, &[0u8; 3000]),
    ]);
    seeds.extend([
        ("ws-row17-depth-bomb", vec![ws_after_join(&[&depth_bomb])]),
        (
            "ws-row19-binary-garbage",
            vec![Step::WebSocket {
                eio: Eio::V4,
                upgrade: false,
                frames: binary,
            }],
        ),
        (
            "ws-row20-oversized-frame",
            vec![ws_after_join(&[&[b'x'; 5000]])],
        ),
        (
            "ws-row22-unknown-namespace",
            vec![Step::WebSocket {
                eio: Eio::V4,
                upgrade: false,
                frames: frames(&[(0x81, b"40/nope,")]),
            }],
        ),
        (
            "ws-row46-unknown-event",
            vec![ws_after_join(&[br#"42/iss,3["launch_missiles"]"#, b"3"])],
        ),
        (
            "ws-row53-attachment",
            vec![Step::WebSocket {
                eio: Eio::V4,
                upgrade: false,
                frames: attachment,
            }],
        ),
        (
            "ws-row57-unreadable-json",
            vec![ws_after_join(&[
                br#"42/iss,5["identify","\ud800"]"#,
                br#"42/iss,6["identify",1e400]"#,
            ])],
        ),
        (
            "ws-v3-session",
            vec![Step::WebSocket {
                eio: Eio::V3,
                upgrade: false,
                frames: frames(&[
                    (0x81, b"40/iss"),
                    (0x81, br#"42/iss,1["identify","Ada"]"#),
                    (0x81, b"2"),
                    (0x88, b"\x03\xe8"),
                ]),
            }],
        ),
        (
            "ws-burst-before-the-ack",
            vec![Step::WebSocket {
                eio: Eio::V4,
                upgrade: false,
                frames: burst(&[
                    (0x81, b"40/iss,"),
                    (0x81, br#"42/iss,1["identify","Ada"]"#),
                    (0x81, b"41/iss,"),
                ]),
            }],
        ),
        (
            "ws-fragments-and-control",
            vec![Step::WebSocket {
                eio: Eio::V4,
                upgrade: false,
                frames: frames(&[
                    (0x01, b"40/"),
                    (0x80, b"iss,"),
                    (0x89, b"ping"),
                    (0x8a, b""),
                    (0x81, b"3"),
                    (0xf1, b"rsv"),
                ]),
            }],
        ),
    ]);
    seeds
}
