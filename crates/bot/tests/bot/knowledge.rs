//! The knowledge bot: the demo shop's questions answered, unknown ones unsure (never handed off
//! by the bot itself), requests for a human handed off, files reloaded after an edit, and both file formats (and their errors).

use std::path::Path;

use parley_bot::knowledge::{parse_markdown, parse_yaml};
use parley_bot::{build, Bot, BotError, BotSettings, HandoffReason, KnowledgeError, Reply};
use serde_json::json;

use crate::support::{settings, turn, TempDir};

async fn answer_of(bot: &dyn Bot, widget_id: i64, message: &str) -> Reply {
    bot.reply(&turn(widget_id, message)).await.expect("reply")
}

fn assert_answer(reply: &Reply, needle: &str, question: &str) {
    match reply {
        Reply::Answer { text } => assert!(
            text.contains(needle),
            "{question:?} answered {text:?}, expected it to mention {needle:?}"
        ),
        other => panic!("{question:?} got {other:?}, expected an answer mentioning {needle:?}"),
    }
}

#[tokio::test]
async fn demo_knowledge_answers_the_test_shops_questions_in_several_phrasings() {
    let dir = TempDir::new();
    let bot = build(&BotSettings::default(), dir.path(), 1).expect("default bot");
    let cases = [
        // Shipping abroad, its cost and how long it takes.
        ("Do you ship abroad?", "we ship worldwide"),
        ("do you ship internationally", "we ship worldwide"),
        ("Can I get it delivered to Germany?", "we ship worldwide"),
        ("which countries do you ship to?", "we ship worldwide"),
        ("Do you deliver to the UK?", "we ship worldwide"),
        ("do you ship to Canada", "we ship worldwide"),
        ("Can you ship to Australia?", "we ship worldwide"),
        ("How much does international shipping cost?", "$19"),
        ("How much is shipping?", "free on orders over $75"),
        ("is shipping free", "free on orders over $75"),
        ("what does delivery cost", "free on orders over $75"),
        ("How long does delivery take?", "business days"),
        ("when will my order arrive", "business days"),
        ("Do you have express shipping?", "Express"),
        ("where is my order?", "tracking link"),
        ("how do I track my package", "tracking link"),
        // Returns, exchanges and refunds.
        ("What is your return policy?", "30 days"),
        ("Can I return my backpack?", "30 days"),
        ("how do I get a refund", "30 days"),
        ("what's your refund policy", "30 days"),
        ("How do I send something back?", "30 days"),
        ("can I exchange it for a bigger size", "Exchange"),
        // Sizes and the product on the page.
        ("What size should I get?", "back length"),
        ("do you have a size chart", "back length"),
        ("Which size fits me best?", "back length"),
        ("Will my 15 inch laptop fit in the daypack?", "15\" laptop"),
        ("how heavy is the Trailhead 28", "980 g"),
        // Opening hours and the shop.
        ("What are your opening hours?", "Monday to Friday"),
        ("When are you open?", "Monday to Friday"),
        ("what are your hours", "Monday to Friday"),
        ("are you open today?", "Monday to Friday"),
        ("are you open on Sunday?", "Monday to Friday"),
        ("what time do you open on Saturday", "Monday to Friday"),
        ("do you have a store I can visit", "Harbor Street"),
        // Payment.
        ("What payment methods do you accept?", "PayPal"),
        ("can I pay with paypal", "PayPal"),
        ("Do you accept Apple Pay?", "Apple Pay"),
        ("Do you take Amex?", "American Express"),
        ("can I pay in instalments", "Klarna"),
        // The rest of the shop.
        ("how do I cancel my order", "within one hour"),
        ("is there a warranty", "lifetime repair guarantee"),
        ("any discount codes?", "10% off"),
        // How to embed the widget, and what this is.
        (
            "How do I embed the widget on my website?",
            "chatbot-widget.js",
        ),
        ("how can I install the chat widget", "parley widget create"),
        ("adding this chat to my site", "chatbot-widget.js"),
        ("What is Parley?", "self-hosted chatbot"),
        ("hi", "Hello!"),
        ("thank you!", "You're welcome"),
    ];
    let mut wrong = Vec::new();
    for (question, needle) in cases {
        match answer_of(&*bot, 1, question).await {
            Reply::Answer { text } if text.contains(needle) => {}
            other => wrong.push(format!("{question:?} → {other:?} (expected {needle:?})")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn unknown_questions_are_unsure_and_never_hand_off_by_themselves() {
    let dir = TempDir::new();
    let bot = build(&BotSettings::default(), dir.path(), 1).expect("default bot");
    for question in [
        "What's the weather in Paris tomorrow?",
        "Can you recommend a good pizza recipe?",
        "Who won the football yesterday?",
        "asdf qwerty",
        "?",
    ] {
        let reply = answer_of(&*bot, 1, question).await;
        assert!(
            matches!(reply, Reply::Unsure { .. }),
            "{question:?} got {reply:?}"
        );
    }
    // However many unsure replies came before: the visitor decides (the widget offers a person
    // under each one), the bot does not hand over unasked.
    for unsure_count in [1, 2, 5] {
        let mut again = turn(1, "purple elephant modem");
        again.unsure_count = unsure_count;
        match bot.reply(&again).await.expect("reply") {
            Reply::Unsure { text } => assert!(text.contains("human"), "{text}"),
            other => panic!("after {unsure_count} unsure replies: {other:?}"),
        }
    }
}

#[tokio::test]
async fn asking_for_a_human_hands_off() {
    let dir = TempDir::new();
    let bot = build(&BotSettings::default(), dir.path(), 1).expect("default bot");
    for message in [
        "/human",
        "Can I talk to a real person?",
        "AGENT please",
        "operator",
    ] {
        match answer_of(&*bot, 1, message).await {
            Reply::Handoff { reason, .. } => assert_eq!(reason, HandoffReason::VisitorAsked),
            other => panic!("{message:?} got {other:?}"),
        }
    }
}

#[tokio::test]
async fn reloads_the_file_after_an_edit() {
    let dir = TempDir::new();
    dir.write(
        "7.md",
        "## What are your opening hours?\nWe open 9 to 5.\n",
        0,
    );
    let bot = build(&settings(json!({"reload_secs": 0})), dir.path(), 7).expect("bot");
    let question = "When are you open? What are the opening hours?";
    assert_answer(&answer_of(&*bot, 7, question).await, "9 to 5", question);
    // Demo knowledge is not mixed in once the widget has its own.
    let reply = answer_of(&*bot, 7, "How do I embed the widget?").await;
    assert!(matches!(reply, Reply::Unsure { .. }), "{reply:?}");

    dir.write(
        "7.md",
        "## What are your opening hours?\nNow 10 to 6.\n\n## Do you ship abroad?\nYes, worldwide.\n",
        10,
    );
    assert_answer(&answer_of(&*bot, 7, question).await, "10 to 6", question);
    let abroad = "do you ship abroad";
    assert_answer(&answer_of(&*bot, 7, abroad).await, "worldwide", abroad);

    // A broken edit is logged and the last good knowledge kept.
    dir.write("7.md", "no headings at all\n", 20);
    assert_answer(&answer_of(&*bot, 7, question).await, "10 to 6", question);
    // Removing the widget's file falls back to the demo knowledge.
    std::fs::remove_file(dir.path().join("7.md")).expect("remove");
    let embed = "How do I embed the widget?";
    assert_answer(
        &answer_of(&*bot, 7, embed).await,
        "chatbot-widget.js",
        embed,
    );
}

#[tokio::test]
async fn yaml_files_inline_entries_and_default_md() {
    let dir = TempDir::new();
    dir.write(
        "3.yaml",
        "- q: Do you ship abroad?\n  a: Yes, worldwide.\n\
         - question: [What payment methods do you accept?, Can I pay by card?]\n  \
           answer: Cards and bank transfer.\n",
        0,
    );
    let inline = settings(json!({
        "knowledge": [{"question": "Is there a mobile app?", "answer": "Not yet."}],
    }));
    let bot = build(&inline, dir.path(), 3).expect("bot");
    assert_answer(
        &answer_of(&*bot, 3, "shipping abroad?").await,
        "worldwide",
        "ship",
    );
    assert_answer(
        &answer_of(&*bot, 3, "can I pay with a card").await,
        "Cards",
        "card",
    );
    assert_answer(
        &answer_of(&*bot, 3, "payment methods").await,
        "Cards",
        "payment",
    );
    assert_answer(
        &answer_of(&*bot, 3, "do you have a mobile app").await,
        "Not yet",
        "app",
    );

    // Another widget without files of its own uses default.md.
    dir.write(
        "default.md",
        "# Shared\n## Where are you based?\nIn Lisbon.\n",
        0,
    );
    let other = build(&BotSettings::default(), dir.path(), 4).expect("bot");
    assert_answer(
        &answer_of(&*other, 4, "where are you based").await,
        "Lisbon",
        "based",
    );
}

#[test]
fn markdown_format() {
    let text = "# Title\nIntro text, ignored.\n\n## First question?\n## Same, other words\n\
                Answer one,\n\non two paragraphs.\n### A sub-heading\nstill answer one\n\
                ## Second? ##\nAnswer two.\n";
    let entries = parse_markdown("t.md", text).expect("valid markdown");
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].questions,
        ["First question?", "Same, other words"]
    );
    assert!(entries[0]
        .answer
        .starts_with("Answer one,\n\non two paragraphs."));
    assert!(entries[0].answer.ends_with("still answer one"));
    assert_eq!(entries[1].questions, ["Second?"]);
    assert_eq!(entries[1].answer, "Answer two.");
}

#[test]
fn malformed_markdown_is_a_clear_error() {
    let err = parse_markdown(
        "faq.md",
        "## Has an answer\nyes\n\n## Dangling question?\n\n",
    )
    .expect_err("dangling question");
    let message = err.to_string();
    assert!(
        matches!(err, KnowledgeError::Malformed { line: Some(4), .. }),
        "{err:?}"
    );
    assert!(
        message.contains("faq.md:4") && message.contains("Dangling question?"),
        "{message}"
    );

    let err = parse_markdown("faq.md", "Just prose, no headings.\n").expect_err("no entries");
    assert!(
        err.to_string().contains("no `## question` headings"),
        "{err}"
    );

    let err = parse_markdown("faq.md", "##\nanswer\n").expect_err("empty heading");
    assert!(err.to_string().contains("faq.md:1"), "{err}");
}

#[test]
fn yaml_format_and_errors() {
    let entries =
        parse_yaml("k.yaml", "- q: A?\n  a: B\n- question: C?\n  answer: D\n").expect("valid yaml");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].questions, ["C?"]);
    assert_eq!(entries[1].answer, "D");

    let err = parse_yaml("k.yaml", "- q: A?\n  a: [unclosed\n").expect_err("syntax error");
    assert!(
        matches!(err, KnowledgeError::Malformed { line: Some(_), .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("k.yaml:"), "{err}");

    let err = parse_yaml("k.yaml", "- q: Only a question?\n").expect_err("missing answer");
    assert!(err.to_string().contains("answer"), "{err}");

    let err = parse_yaml("k.yaml", "q: not a list\na: nope\n").expect_err("not a list");
    assert!(err.to_string().contains("list"), "{err}");

    let err = parse_yaml("k.yaml", "- q: ''\n  a: B\n").expect_err("empty question");
    assert!(err.to_string().contains("empty question"), "{err}");

    assert!(parse_yaml("k.yaml", "  \n").is_err());
}

#[test]
fn a_malformed_file_fails_the_build_naming_the_file() {
    let dir = TempDir::new();
    dir.write("5.yml", "- q: [broken\n", 0);
    let err = build(&BotSettings::default(), dir.path(), 5).expect_err("malformed");
    match err {
        BotError::Config(message) => assert!(message.contains("5.yml"), "{message}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn greeting_defaults_overrides_and_disabling() {
    let dir = Path::new("/nonexistent/parley-knowledge");
    let default = build(&BotSettings::default(), dir, 1).expect("bot");
    assert!(default.greeting().is_some_and(|g| g.contains("human")));
    let custom = build(&settings(json!({"greeting": "Welcome!"})), dir, 1).expect("bot");
    assert_eq!(custom.greeting().as_deref(), Some("Welcome!"));
    let none = build(&settings(json!({"greeting": ""})), dir, 1).expect("bot");
    assert_eq!(none.greeting(), None);
}
