//! Hand-checked diesel schema accepted by both backends (see STACK-NOTES: only portable
//! column types; `Timestamp` holds UTC).

diesel::table! {
    users (id) {
        id -> Integer,
        username -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        time_zone -> Text,
        email -> Nullable<Text>,
        digest_sent_on -> Nullable<Date>,
        oidc_subject -> Nullable<Text>,
        break_glass -> Bool,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ip -> Text,
        user_agent -> Text,
        id_token -> Nullable<Text>,
    }
}

diesel::table! {
    oidc_logins (state) {
        state -> Text,
        browser_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        next -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Integer,
        user_id -> Integer,
        name -> Text,
        token_hash -> Text,
        prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        scope -> Text,
    }
}

diesel::table! {
    setup_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Integer,
        username -> Text,
        ip -> Text,
        attempted_at -> Timestamp,
        succeeded -> Bool,
    }
}

diesel::table! {
    services (id) {
        id -> Integer,
        name -> Text,
        created_at -> Timestamp,
        team_id -> Nullable<Integer>,
        tier -> Nullable<Integer>,
        runbook_url -> Text,
        description -> Text,
        public -> Bool,
        status_override -> Nullable<Text>,
    }
}

diesel::table! {
    status_maintenances (id) {
        id -> Integer,
        title -> Text,
        body -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        announced -> Text,
    }
}

diesel::table! {
    status_subscribers (id) {
        id -> Integer,
        email -> Text,
        token -> Text,
        confirmed_at -> Nullable<Timestamp>,
        mailed_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    status_subscriber_components (subscriber_id, service_id) {
        subscriber_id -> Integer,
        service_id -> Integer,
    }
}

diesel::table! {
    status_subscribe_requests (id) {
        id -> Integer,
        ip -> Text,
        requested_at -> Timestamp,
    }
}

diesel::table! {
    attachment_blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachment_chunks (sha256, seq) {
        sha256 -> Text,
        seq -> Integer,
        bytes -> Binary,
    }
}

diesel::table! {
    attachments (id) {
        id -> Integer,
        incident_id -> Integer,
        sha256 -> Text,
        name -> Text,
        content_type -> Text,
        size -> BigInt,
        inline_image -> Bool,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        purged_at -> Nullable<Timestamp>,
        purged_by -> Nullable<Integer>,
    }
}

diesel::table! {
    chat_users (platform, chat_user_id) {
        platform -> Text,
        chat_user_id -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_channels (platform, channel_id) {
        platform -> Text,
        channel_id -> Text,
        incident_id -> Integer,
        linked_by -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    chat_seen (seen_key) {
        seen_key -> Text,
        seen_at -> Timestamp,
    }
}

diesel::table! {
    chat_outbox (id) {
        id -> Integer,
        platform -> Text,
        channel_id -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    chat_connect_links (token_hash) {
        token_hash -> Text,
        platform -> Text,
        chat_user_id -> Text,
        chat_name -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    status_maintenance_components (maintenance_id, service_id) {
        maintenance_id -> Integer,
        service_id -> Integer,
    }
}

diesel::table! {
    status_page (id) {
        id -> Integer,
        enabled -> Bool,
        title -> Text,
        logo_url -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    incidents (id) {
        id -> Integer,
        title -> Text,
        severity -> Text,
        status -> Text,
        impact -> Text,
        users_affected_pct -> Nullable<Double>,
        commander_id -> Nullable<Integer>,
        started_at -> Timestamp,
        detected_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        mitigated_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        alert_group_key -> Nullable<Text>,
        labels -> Text,
        timeline_rev -> Integer,
        event_seq -> Integer,
        comms_lead_id -> Nullable<Integer>,
        scribe_id -> Nullable<Integer>,
        ops_lead_id -> Nullable<Integer>,
        restricted -> Bool,
        import_hash -> Nullable<Text>,
        duplicate_of -> Nullable<Integer>,
        next_update_due_at -> Nullable<Timestamp>,
        update_nudged_due_at -> Nullable<Timestamp>,
        commander_nudged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Integer,
        user_id -> Integer,
        kind -> Text,
        message -> Text,
        link -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_prefs (user_id, kind) {
        user_id -> Integer,
        kind -> Text,
        channel -> Text,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Integer,
        user_id -> Nullable<Integer>,
        to_address -> Text,
        subject -> Text,
        body -> Text,
        link -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        subscriber_token -> Nullable<Text>,
    }
}

diesel::table! {
    teams (id) {
        id -> Integer,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    /// Incidents by status and severity, kept by triggers (migration 000019).
    incident_counts (status, severity) {
        status -> Text,
        severity -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    incident_events (incident_id, seq) {
        incident_id -> Integer,
        seq -> Integer,
        kind -> Text,
        subject_id -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incident_revisions (incident_id, version) {
        incident_id -> Integer,
        version -> Integer,
        fields -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incident_services (incident_id, service_id) {
        incident_id -> Integer,
        service_id -> Integer,
    }
}

diesel::table! {
    timeline_entries (id) {
        id -> Integer,
        incident_id -> Integer,
        occurred_at -> Timestamp,
        time_known -> Bool,
        recorded_at -> Timestamp,
        kind -> Text,
        body -> Text,
        body_html -> Text,
        author_id -> Nullable<Integer>,
        updated_at -> Timestamp,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Integer>,
        dedupe_key -> Nullable<Text>,
        imported_author -> Nullable<Text>,
        starred -> Bool,
        marker -> Nullable<Text>,
    }
}

diesel::table! {
    timeline_revisions (id) {
        id -> Integer,
        entry_id -> Integer,
        occurred_at -> Timestamp,
        time_known -> Bool,
        kind -> Text,
        body -> Text,
        edited_by -> Nullable<Integer>,
        edited_at -> Timestamp,
    }
}

diesel::table! {
    escalations (id) {
        id -> Integer,
        incident_id -> Integer,
        target -> Text,
        reason -> Text,
        state -> Text,
        escalated_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        responded_at -> Nullable<Timestamp>,
        responded_by -> Nullable<Integer>,
        escalated_by -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    root_causes (id) {
        id -> Integer,
        incident_id -> Integer,
        kind -> Text,
        category -> Text,
        description -> Text,
        description_html -> Text,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> Integer,
        incident_id -> Integer,
        title -> Text,
        description -> Text,
        kind -> Text,
        priority -> Text,
        owner_id -> Nullable<Integer>,
        team -> Text,
        due_on -> Nullable<Date>,
        status -> Text,
        external_url -> Text,
        completed_at -> Nullable<Timestamp>,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        overdue_notified_on -> Nullable<Date>,
        /// 0 high, 1 medium, 2 low: computed by the database, for ordering.
        priority_rank -> Integer,
        root_cause_id -> Nullable<Integer>,
    }
}

diesel::table! {
    postmortems (incident_id) {
        incident_id -> Integer,
        summary -> Text,
        resolution -> Text,
        improvements -> Text,
        lessons_went_well -> Text,
        lessons_went_wrong -> Text,
        lessons_lucky -> Text,
        conclusion -> Text,
        review_state -> Text,
        published_at -> Nullable<Timestamp>,
        published_by -> Nullable<Integer>,
        author_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        public -> Bool,
    }
}

diesel::table! {
    postmortem_reviews (id) {
        id -> Integer,
        incident_id -> Integer,
        reviewer_id -> Integer,
        state -> Text,
        comment -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        actor_id -> Nullable<Integer>,
        actor -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        detail -> Text,
        ip -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Integer,
        url -> Text,
        secret -> Text,
        events -> Text,
        active -> Bool,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
        format -> Text,
        restricted_too -> Bool,
    }
}

diesel::table! {
    incident_updates (id) {
        id -> Integer,
        incident_id -> Integer,
        audience -> Text,
        state -> Text,
        impact -> Text,
        actions -> Text,
        next_update_at -> Nullable<Timestamp>,
        entry_id -> Nullable<Integer>,
        author_id -> Nullable<Integer>,
        created_at -> Timestamp,
        announced -> Bool,
    }
}

diesel::table! {
    incident_links (id) {
        id -> Integer,
        incident_id -> Integer,
        other_id -> Integer,
        kind -> Text,
        created_by -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incident_members (incident_id, user_id) {
        incident_id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    incident_member_teams (incident_id, team_id) {
        incident_id -> Integer,
        team_id -> Integer,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Integer,
        webhook_id -> Integer,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Text,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(incident_services -> incidents (incident_id));
diesel::joinable!(incident_revisions -> incidents (incident_id));
diesel::joinable!(incident_events -> incidents (incident_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(services -> teams (team_id));
diesel::joinable!(status_maintenance_components -> status_maintenances (maintenance_id));
diesel::joinable!(status_maintenance_components -> services (service_id));
diesel::joinable!(status_subscriber_components -> status_subscribers (subscriber_id));
diesel::joinable!(status_subscriber_components -> services (service_id));
diesel::joinable!(chat_users -> users (user_id));
diesel::joinable!(attachments -> incidents (incident_id));
diesel::joinable!(attachments -> attachment_blobs (sha256));
diesel::joinable!(chat_channels -> incidents (incident_id));
diesel::joinable!(notification_prefs -> users (user_id));
diesel::joinable!(incident_members -> incidents (incident_id));
diesel::joinable!(incident_member_teams -> incidents (incident_id));
diesel::joinable!(incident_updates -> incidents (incident_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(incident_services -> services (service_id));
diesel::joinable!(timeline_entries -> incidents (incident_id));
diesel::joinable!(timeline_revisions -> timeline_entries (entry_id));
diesel::joinable!(escalations -> incidents (incident_id));
diesel::joinable!(root_causes -> incidents (incident_id));
diesel::joinable!(tasks -> incidents (incident_id));
diesel::joinable!(postmortems -> incidents (incident_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    incident_links,
    incident_updates,
    status_page,
    status_maintenances,
    status_maintenance_components,
    status_subscribers,
    status_subscriber_components,
    status_subscribe_requests,
    attachment_blobs,
    attachment_chunks,
    attachments,
    chat_users,
    chat_channels,
    chat_seen,
    chat_connect_links,
    chat_outbox,
    notifications,
    incident_revisions,
    incident_events,
    teams,
    team_members,
    oidc_logins,
    incident_members,
    incident_member_teams,
    notification_prefs,
    mail_outbox,
    sessions,
    api_tokens,
    setup_tokens,
    login_attempts,
    services,
    incidents,
    incident_services,
    timeline_entries,
    timeline_revisions,
    escalations,
    root_causes,
    tasks,
    postmortems,
    postmortem_reviews,
    audit_log,
    webhooks,
    webhook_deliveries,
);
