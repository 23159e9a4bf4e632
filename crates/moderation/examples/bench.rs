//! Prints the guardian benchmark: `cargo run -p qunzhu-moderation --release --example bench [messages]`.

fn main() {
    let messages = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(200_000);
    let report = qunzhu_moderation::bench::bench(messages);
    println!("{report:#?}");
}
