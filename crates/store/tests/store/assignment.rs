//! Automatic assignment: the queue served oldest first to online agents who answer the widget,
//! within their capacity, in round-robin (the turn remembered per widget) or least-busy order;
//! never past the capacity nor one conversation twice when nodes assign at once; unanswered
//! conversations taken back and offered to someone else; transfers with a note.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parley_store::{
    Agent, AgentAvailability, AssignmentMode, AssignmentRule, ConversationStatus, NewAgent,
    NewMessage, NewNote, NewWebhook, Role, SenderType, TransferRefused,
};

use crate::support::{conversation, on_both, token, widget, Db, Fixture};

on_both!(round_robin_takes_turns_within_capacity);
on_both!(least_busy_gives_to_the_fewest_open);
on_both!(only_online_agents_who_answer_the_widget_are_chosen);
on_both!(unanswered_conversations_go_back_to_someone_else);
on_both!(a_transfer_moves_the_conversation_with_its_note);
on_both!(fresh: nodes_assigning_at_once_keep_the_capacity);

async fn person(db: &Db, name: &str, role: Role) -> Agent {
    db.create_agent(NewAgent {
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        token_hash: token(),
        role,
    })
    .await
    .expect("create agent")
}

/// An agent whose dashboard is open and who is available.
async fn online(db: &Db, name: &str) -> Agent {
    let agent = person(db, name, Role::Agent).await;
    db.set_agent_availability(agent.id, AgentAvailability::Online, Utc::now(), None)
        .await
        .unwrap()
        .unwrap()
}

/// A conversation the bot handed to a person: status `human`, nobody assigned.
async fn handed_off(db: &Db, widget_id: i64) -> i64 {
    let c = conversation(db, widget_id).await;
    db.update_conversation(c.id, ConversationStatus::Human, None)
        .await
        .unwrap();
    c.id
}

fn rule(widget_id: i64, mode: AssignmentMode, capacity: i64) -> AssignmentRule {
    AssignmentRule {
        widget_id,
        mode,
        capacity,
        online_since: Utc::now() - Duration::seconds(75),
    }
}

/// `(conversation, agent)` for each assignment.
async fn assign(db: &Db, rule: &AssignmentRule, limit: i64) -> Vec<(i64, i64)> {
    db.assign_queued(rule, Utc::now(), limit)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r.previous_agent_id, None);
            assert_eq!(r.conversation.status, ConversationStatus::Human);
            (r.conversation.id, r.conversation.assigned_agent_id.unwrap())
        })
        .collect()
}

async fn round_robin_takes_turns_within_capacity(db: Db) {
    let shop = widget(&db, "Shop").await;
    let ada = online(&db, "Ada").await;
    let bo = online(&db, "Bo").await;
    let cy = online(&db, "Cy").await;
    let rule = rule(shop.id, AssignmentMode::RoundRobin, 2);
    assert!(assign(&db, &rule, 10).await.is_empty(), "nothing queued");

    let first: Vec<i64> = [
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
    ]
    .into();
    // Oldest first, each agent in turn.
    assert_eq!(
        assign(&db, &rule, 2).await,
        [(first[0], ada.id), (first[1], bo.id)]
    );
    assert_eq!(db.assignment_turn(shop.id).await.unwrap(), Some(bo.id));
    // The turn is remembered between calls (and nodes).
    assert_eq!(
        assign(&db, &rule, 10).await,
        [(first[2], cy.id), (first[3], ada.id)]
    );
    let more: Vec<i64> = [
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
    ]
    .into();
    // Ada is at capacity now: Bo, Cy, and the third waits.
    assert_eq!(
        assign(&db, &rule, 10).await,
        [(more[0], bo.id), (more[1], cy.id)]
    );
    assert!(assign(&db, &rule, 10).await.is_empty());
    let waiting = db.conversation(more[2]).await.unwrap().unwrap();
    assert_eq!(waiting.assigned_agent_id, None);
    assert_eq!(waiting.status, ConversationStatus::Human);

    // Closing one frees Bo's slot; the queue moves.
    db.update_conversation(first[1], ConversationStatus::Closed, Some(bo.id))
        .await
        .unwrap();
    assert_eq!(assign(&db, &rule, 10).await, [(more[2], bo.id)]);
    let counts = db.open_conversation_counts().await.unwrap();
    for agent in [&ada, &bo, &cy] {
        assert!(counts.contains(&(agent.id, 2)), "{counts:?}");
    }
    // Conversations the bot still has, or that are closed, are not queued.
    let with_bot = conversation(&db, shop.id).await;
    let adas = ada_open(&db, &ada).await;
    db.update_conversation(adas, ConversationStatus::Closed, Some(ada.id))
        .await
        .unwrap();
    assert!(assign(&db, &rule, 10).await.is_empty());
    assert_eq!(
        db.conversation(with_bot.id).await.unwrap().unwrap().status,
        ConversationStatus::Bot
    );
}

/// One of Ada's open conversations.
async fn ada_open(db: &Db, ada: &Agent) -> i64 {
    db.conversations(&parley_store::ConversationQuery {
        assignee: Some(parley_store::Assignee::Agent(ada.id)),
        status: Some(ConversationStatus::Human),
        limit: 1,
        ..Default::default()
    })
    .await
    .unwrap()[0]
        .id
}

async fn least_busy_gives_to_the_fewest_open(db: Db) {
    let shop = widget(&db, "Shop").await;
    let other = widget(&db, "Other").await;
    let ada = online(&db, "Ada").await;
    let bo = online(&db, "Bo").await;
    // Ada already has two open conversations, one on another widget: load counts everywhere.
    for widget_id in [shop.id, other.id] {
        let c = conversation(&db, widget_id).await;
        db.update_conversation(c.id, ConversationStatus::Human, Some(ada.id))
            .await
            .unwrap();
    }
    let rule = rule(shop.id, AssignmentMode::LeastBusy, 5);
    let queued = [
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
        handed_off(&db, shop.id).await,
    ];
    // Bo (none open) twice; then both have two and the turn decides: after Bo, wrapping round
    // in id order, comes Ada; then Bo again, who has fewer.
    assert_eq!(
        assign(&db, &rule, 10).await,
        [
            (queued[0], bo.id),
            (queued[1], bo.id),
            (queued[2], ada.id),
            (queued[3], bo.id)
        ]
    );
}

async fn only_online_agents_who_answer_the_widget_are_chosen(db: Db) {
    let shop = widget(&db, "Shop").await;
    let other = widget(&db, "Other").await;
    let rule = rule(shop.id, AssignmentMode::RoundRobin, 5);
    let away = person(&db, "Away", Role::Agent).await;
    db.set_agent_availability(away.id, AgentAvailability::Away, Utc::now(), None)
        .await
        .unwrap();
    let silent = person(&db, "Silent", Role::Agent).await;
    // Online, but the dashboard has not been heard from for two minutes.
    db.set_agent_availability(
        silent.id,
        AgentAvailability::Online,
        Utc::now() - Duration::seconds(120),
        None,
    )
    .await
    .unwrap();
    let elsewhere = online(&db, "Elsewhere").await;
    assert!(db
        .set_agent_widgets(elsewhere.id, &[other.id])
        .await
        .unwrap());
    let revoked = online(&db, "Revoked").await;
    assert!(db.revoke_agent(revoked.id).await.unwrap());
    let id = handed_off(&db, shop.id).await;
    assert!(
        assign(&db, &rule, 10).await.is_empty(),
        "nobody may take it"
    );

    // An agent given this widget, and an admin (who answers every widget).
    let given = online(&db, "Given").await;
    assert!(db
        .set_agent_widgets(given.id, &[other.id, shop.id])
        .await
        .unwrap());
    let root = person(&db, "Root", Role::Admin).await;
    db.set_agent_availability(root.id, AgentAvailability::Online, Utc::now(), None)
        .await
        .unwrap();
    let second = handed_off(&db, shop.id).await;
    assert_eq!(
        assign(&db, &rule, 10).await,
        [(id, given.id), (second, root.id)]
    );
}

async fn unanswered_conversations_go_back_to_someone_else(db: Db) {
    let shop = widget(&db, "Shop").await;
    let ada = online(&db, "Ada").await;
    let rule = rule(shop.id, AssignmentMode::RoundRobin, 5);
    let webhook = db
        .create_webhook(NewWebhook {
            url: "https://hooks.example/parley".into(),
            events: vec![],
            widget_id: None,
            secret: "whsec".into(),
        })
        .await
        .unwrap();
    let quiet = handed_off(&db, shop.id).await;
    let answered = handed_off(&db, shop.id).await;
    assert_eq!(
        assign(&db, &rule, 10).await,
        [(quiet, ada.id), (answered, ada.id)]
    );
    reply(&db, answered).await;
    let soon = Utc::now() - Duration::minutes(5);
    assert!(unassign(&db, shop.id, soon).await.is_empty(), "not yet due");

    let due = Utc::now() + Duration::seconds(1);
    let taken = unassign(&db, shop.id, due).await;
    assert_eq!(taken, [(quiet, ada.id)], "the answered one stays");
    let back = db.conversation(quiet).await.unwrap().unwrap();
    assert_eq!(back.assigned_agent_id, None);
    assert_eq!(back.status, ConversationStatus::Human);
    let announced = db.webhook_deliveries(webhook.id, None, 100).await.unwrap();
    assert!(
        announced.iter().any(|d| d.conversation_id == Some(quiet)
            && d.event == "conversation.assigned"
            && d.detail["previous_agent_id"] == ada.id
            && d.detail["assigned_agent_id"].is_null()),
        "{announced:?}"
    );

    // Ada is the only one online: it waits for someone else rather than going back to her.
    assert!(assign(&db, &rule, 10).await.is_empty());
    let bo = online(&db, "Bo").await;
    assert_eq!(assign(&db, &rule, 10).await, [(quiet, bo.id)]);

    // An agent who gives a conversation up by hand is not given it back.
    let dropped = handed_off(&db, shop.id).await;
    let least = AssignmentRule {
        mode: AssignmentMode::LeastBusy,
        ..rule
    };
    assert_eq!(
        assign(&db, &least, 10).await,
        [(dropped, ada.id)],
        "level: Ada's turn"
    );
    db.update_conversation(dropped, ConversationStatus::Human, None)
        .await
        .unwrap();
    assert_eq!(assign(&db, &least, 10).await, [(dropped, bo.id)]);

    // A manual assignment counts from its own time, and a reply after it keeps it.
    let taken_by_hand = handed_off(&db, shop.id).await;
    db.update_conversation(taken_by_hand, ConversationStatus::Human, Some(ada.id))
        .await
        .unwrap();
    assert!(unassign(&db, shop.id, soon).await.is_empty());
    let all = unassign(&db, shop.id, Utc::now() + Duration::seconds(1)).await;
    assert!(all.contains(&(taken_by_hand, ada.id)), "{all:?}");
    assert!(!all.iter().any(|(id, _)| *id == answered), "{all:?}");
}

async fn reply(db: &Db, conversation_id: i64) {
    db.insert_message(NewMessage {
        conversation_id,
        sender_type: SenderType::Agent,
        sender_name: Some("Ada".into()),
        message: "On it".into(),
        attachment: None,
        is_voice: false,
        client_id: None,
        bot_job: false,
    })
    .await
    .unwrap();
}

async fn unassign(db: &Db, widget_id: i64, cutoff: DateTime<Utc>) -> Vec<(i64, i64)> {
    db.unassign_unanswered(widget_id, cutoff, Utc::now(), 100)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.conversation.id, r.previous_agent_id.unwrap()))
        .collect()
}

async fn a_transfer_moves_the_conversation_with_its_note(db: Db) {
    let shop = widget(&db, "Shop").await;
    let ada = online(&db, "Ada").await;
    let bo = person(&db, "Bo", Role::Agent).await;
    let id = handed_off(&db, shop.id).await;
    db.update_conversation(id, ConversationStatus::Human, Some(ada.id))
        .await
        .unwrap();
    let note = NewNote {
        conversation_id: id,
        agent_id: ada.id,
        body: "Wants a refund, over to billing".into(),
        mentions: vec![bo.id],
    };
    let moved = db
        .transfer(id, bo.id, Some(note), Utc::now())
        .await
        .unwrap()
        .expect("transferred");
    assert_eq!(moved.conversation.assigned_agent_id, Some(bo.id));
    assert_eq!(moved.previous_agent_id, Some(ada.id));
    let note = moved.note.expect("the note");
    assert_eq!(note.mentions, [bo.id]);
    assert_eq!(db.notes(id).await.unwrap(), [note]);
    assert_eq!(
        db.transfer(id, bo.id, None, Utc::now()).await.unwrap(),
        Err(TransferRefused::AlreadyTheirs)
    );
    assert_eq!(
        db.transfer(999_999, bo.id, None, Utc::now()).await.unwrap(),
        Err(TransferRefused::NotFound)
    );
    // Capacity is not the store's concern here, and a bot conversation becomes a person's.
    let with_bot = conversation(&db, shop.id).await;
    let taken = db
        .transfer(with_bot.id, ada.id, None, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.conversation.status, ConversationStatus::Human);
    assert!(taken.conversation.created_at <= taken.conversation.updated_at);
    assert!(taken.note.is_none());
    db.update_conversation(with_bot.id, ConversationStatus::Closed, Some(ada.id))
        .await
        .unwrap();
    assert_eq!(
        db.transfer(with_bot.id, bo.id, None, Utc::now())
            .await
            .unwrap(),
        Err(TransferRefused::Closed)
    );
    // A note with a NUL is refused and nothing moves.
    let bad = NewNote {
        conversation_id: id,
        agent_id: bo.id,
        body: "a\u{0}b".into(),
        mentions: vec![],
    };
    assert!(db
        .transfer(id, ada.id, Some(bad), Utc::now())
        .await
        .is_err());
    let still = db.conversation(id).await.unwrap().unwrap();
    assert_eq!(still.assigned_agent_id, Some(bo.id));
}

/// Several nodes serving the same queue at once: nobody gets more than the capacity and no
/// conversation is assigned twice.
async fn nodes_assigning_at_once_keep_the_capacity(fixture: Arc<Fixture>) {
    let (one, two) = tokio::join!(fixture.open(), fixture.open());
    one.migrate().await.unwrap();
    let shop = widget(&one, "Shop").await;
    let other = widget(&one, "Other").await;
    let ada = online(&one, "Ada").await;
    let bo = online(&one, "Bo").await;
    let mut queued = Vec::new();
    for _ in 0..8 {
        queued.push(handed_off(&one, shop.id).await);
        queued.push(handed_off(&one, other.id).await);
    }
    let capacity = 3;
    let mut tasks = Vec::new();
    for round in 0..12 {
        let db = if round % 2 == 0 {
            one.clone()
        } else {
            two.clone()
        };
        let widget_id = if round % 3 == 0 { other.id } else { shop.id };
        let mode = if round % 4 < 2 {
            AssignmentMode::RoundRobin
        } else {
            AssignmentMode::LeastBusy
        };
        tasks.push(tokio::spawn(async move {
            let rule = rule(widget_id, mode, capacity);
            let mut got = Vec::new();
            for _ in 0..3 {
                got.extend(assign_retrying(&db, &rule).await);
            }
            got
        }));
    }
    let mut assigned = Vec::new();
    for task in tasks {
        assigned.extend(task.await.unwrap());
    }
    let mut ids: Vec<i64> = assigned.iter().map(|(c, _)| *c).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), assigned.len(), "assigned twice: {assigned:?}");
    assert_eq!(assigned.len(), 6, "both agents filled: {assigned:?}");
    for agent in [&ada, &bo] {
        let theirs = assigned.iter().filter(|(_, a)| *a == agent.id).count();
        assert_eq!(theirs, 3, "{assigned:?}");
    }
    let counts = two.open_conversation_counts().await.unwrap();
    assert_eq!(counts.len(), 2);
    assert!(
        counts.iter().all(|(_, open)| *open == capacity),
        "{counts:?}"
    );
}

/// One assignment call, again when the database was busy (a deadlock victim, SQLite's lock).
async fn assign_retrying(db: &Db, rule: &AssignmentRule) -> Vec<(i64, i64)> {
    for _ in 0..20 {
        match db.assign_queued(rule, Utc::now(), 2).await {
            Ok(done) => {
                return done
                    .iter()
                    .map(|r| (r.conversation.id, r.conversation.assigned_agent_id.unwrap()))
                    .collect()
            }
            Err(error) if error.is_transient() => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(error) => panic!("{error}"),
        }
    }
    panic!("still busy")
}
