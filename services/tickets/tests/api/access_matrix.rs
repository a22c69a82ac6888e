//! Who may do what: requester owner / other requester / agent / admin × every endpoint.
//! Each cell runs on a fresh ticket opened by the owner, with the right version, so the only
//! thing that varies is the caller.

use docket_platform::auth::Role;
use docket_testkit::{Backend, assert_problem, backend_tests};
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, spawn};

backend_tests!(
    every_endpoint_answers_each_role_as_the_rules_say,
    invisible_tickets_are_404_before_validation_or_version_checks,
);

#[derive(Debug, Clone, Copy)]
enum Op {
    Get,
    PatchSubject,
    PatchClose,
    PatchStatus,
    PatchPriority,
    PatchAssignee,
    Comment,
    InternalNote,
    ListComments,
    ListEvents,
    Delete,
    InternalAccess,
    InternalEvent,
}

async fn run(app: &TestApp, op: Op, caller: &User, id: &str, agent_id: &str) -> u16 {
    let t = format!("/api/tickets/{id}");
    let resp = match op {
        Op::Get => app.get(&t, caller).await,
        Op::PatchSubject => {
            app.patch(&t, caller, Some("1"), &json!({"subject": "Renamed"}))
                .await
        }
        Op::PatchClose => {
            app.patch(&t, caller, Some("1"), &json!({"status": "closed"}))
                .await
        }
        Op::PatchStatus => {
            app.patch(&t, caller, Some("1"), &json!({"status": "in_progress"}))
                .await
        }
        Op::PatchPriority => {
            app.patch(&t, caller, Some("1"), &json!({"priority": "urgent"}))
                .await
        }
        Op::PatchAssignee => {
            app.patch(&t, caller, Some("1"), &json!({"assignee_id": agent_id}))
                .await
        }
        Op::Comment => {
            app.post(&format!("{t}/comments"), caller, &json!({"body": "Hello"}))
                .await
        }
        Op::InternalNote => {
            app.post(
                &format!("{t}/comments"),
                caller,
                &json!({"body": "Between us", "internal": true}),
            )
            .await
        }
        Op::ListComments => app.get(&format!("{t}/comments"), caller).await,
        Op::ListEvents => app.get(&format!("{t}/events"), caller).await,
        Op::Delete => app.delete(&t, caller).await,
        Op::InternalAccess => {
            app.get(&format!("/internal/tickets/{id}/access"), caller)
                .await
        }
        Op::InternalEvent => {
            app.post(
                &format!("/internal/tickets/{id}/events"),
                caller,
                &json!({"kind": "attachment_added",
                        "data": {"attachment_id": uuid::Uuid::new_v4(), "filename": "a.png"}}),
            )
            .await
        }
    };
    let status = resp.status().as_u16();
    if status >= 400 {
        assert_problem(resp, status).await;
    }
    status
}

async fn every_endpoint_answers_each_role_as_the_rules_say(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let other = app.requester().await;
    let agent = app.user_with_role(Role::Agent).await;
    let admin = app.user_with_role(Role::Admin).await;
    //                                  owner other agent admin
    let matrix: &[(Op, [u16; 4])] = &[
        (Op::Get, [200, 404, 200, 200]),
        (Op::PatchSubject, [200, 404, 200, 200]),
        (Op::PatchClose, [200, 404, 200, 200]),
        (Op::PatchStatus, [403, 404, 200, 200]),
        (Op::PatchPriority, [403, 404, 200, 200]),
        (Op::PatchAssignee, [403, 404, 200, 200]),
        (Op::Comment, [201, 404, 201, 201]),
        (Op::InternalNote, [403, 404, 201, 201]),
        (Op::ListComments, [200, 404, 200, 200]),
        (Op::ListEvents, [200, 404, 200, 200]),
        (Op::Delete, [403, 404, 403, 204]),
        (Op::InternalAccess, [200, 404, 200, 200]),
        (Op::InternalEvent, [201, 404, 201, 201]),
    ];
    let callers = [&owner, &other, &agent, &admin];
    let mut failures = Vec::new();
    for (op, expected) in matrix {
        for (caller, want) in callers.iter().zip(expected) {
            let ticket = app.ticket(&owner, "Matrix").await;
            let id = ticket["id"].as_str().unwrap();
            let got = run(&app, *op, caller, id, &agent.id).await;
            if got != *want {
                failures.push(format!(
                    "{op:?} as {:?}: want {want}, got {got}",
                    caller.role
                ));
            }
            // A refused or invisible call changed nothing.
            if got >= 400 {
                let after: Value = app.json(&format!("/api/tickets/{id}"), &admin).await;
                assert_eq!(after["version"], 1, "{op:?} as {:?}", caller.role);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // Lists: the owner's ticket is in the owner's and staff's lists, never the other's.
    let ticket = app.ticket(&owner, "Listed").await;
    let id = ticket["id"].as_str().unwrap();
    for (user, sees) in [
        (&owner, true),
        (&other, false),
        (&agent, true),
        (&admin, true),
    ] {
        let page = app.json("/api/tickets?limit=100", user).await;
        assert_eq!(
            crate::helpers::ids(&page).iter().any(|i| i == id),
            sees,
            "{:?}",
            user.role
        );
        let filtered = app
            .json(&format!("/api/tickets?requester_id={}", owner.id), user)
            .await;
        assert_eq!(!crate::helpers::ids(&filtered).is_empty(), sees);
    }
}

async fn invisible_tickets_are_404_before_validation_or_version_checks(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.requester().await;
    let other = app.requester().await;
    let ticket = app.ticket(&owner, "Private").await;
    let t = format!("/api/tickets/{}", ticket["id"].as_str().unwrap());
    // No version, a stale version, an invalid body, a non-JSON body: all 404.
    assert_problem(
        app.patch(&t, &other, None, &json!({"subject": "x"})).await,
        404,
    )
    .await;
    assert_problem(
        app.patch(&t, &other, Some("99"), &json!({"subject": "x"}))
            .await,
        404,
    )
    .await;
    assert_problem(
        app.patch(
            &t,
            &other,
            Some("1"),
            &json!({"status": "bogus", "subject": ""}),
        )
        .await,
        404,
    )
    .await;
    let resp = app
        .http
        .patch(app.url(&t))
        .bearer_auth(&other.token)
        .header("content-type", "text/plain")
        .body("nonsense")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404).await;
    assert_problem(
        app.post(&format!("{t}/comments"), &other, &json!({"body": ""}))
            .await,
        404,
    )
    .await;
    assert_problem(app.get(&format!("{t}/comments?limit=0"), &other).await, 404).await;
    assert_problem(
        app.get(&format!("{t}/events?cursor=%%%"), &other).await,
        404,
    )
    .await;
    // The owner gets the real answers for the same requests.
    assert_problem(
        app.patch(&t, &owner, None, &json!({"subject": "x"})).await,
        428,
    )
    .await;
    assert_problem(
        app.patch(&t, &owner, Some("1"), &json!({"status": "bogus"}))
            .await,
        422,
    )
    .await;
    assert_problem(app.get(&format!("{t}/comments?limit=0"), &owner).await, 422).await;
}
