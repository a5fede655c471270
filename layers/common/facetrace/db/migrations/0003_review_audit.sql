-- Issue #6: human review of alerts, case sharing between agencies, an audit trail, and erasure.
-- depends: 0002_case_events

-- Who reviewed an alert, when, and why (the decision itself is alerts.status).
ALTER TABLE alerts
    ADD COLUMN reviewed_at DATETIME(6) NULL,
    ADD COLUMN reviewed_by_agency CHAR(36) NULL,
    ADD COLUMN reviewed_by_user VARCHAR(200) NULL,
    ADD COLUMN review_note VARCHAR(2000) NULL,
    ADD KEY ix_alerts_case (case_id, created_at);

-- When a closed case's reference photos may be deleted from S3 (after a grace period), and when
-- its reference embeddings were erased (at closure).
ALTER TABLE cases
    ADD COLUMN references_delete_after DATETIME(6) NULL,
    ADD COLUMN references_erased_at DATETIME(6) NULL;

-- A photo whose S3 object, face embeddings and citizen contact were erased (purge); the row stays
-- so that alerts and the audit trail keep pointing at something.
ALTER TABLE photos
    ADD COLUMN erased_at DATETIME(6) NULL,
    ADD KEY ix_photos_kind_created (kind, created_at);

-- Another agency that may read a case and review its alerts (the owner alone updates, closes, shares).
CREATE TABLE case_shares (
    case_id CHAR(36) NOT NULL,
    agency_id CHAR(36) NOT NULL,
    shared_by_user VARCHAR(200) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (case_id, agency_id),
    CONSTRAINT fk_case_shares_case FOREIGN KEY (case_id) REFERENCES cases (id),
    CONSTRAINT fk_case_shares_agency FOREIGN KEY (agency_id) REFERENCES agencies (id),
    KEY ix_case_shares_agency (agency_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- APPEND-ONLY audit trail: who (agency + Cognito user sub) did what (action + object ids) when, and why.
-- Written for every read of a face image or embedding by a person, every review decision and every
-- case update, closure and share. The application only ever INSERTs here: no repository method
-- updates or deletes a row, and nothing may be added that does. (In AWS, grant the application's
-- database user INSERT and SELECT only on this table to enforce it.)
CREATE TABLE audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    agency_id CHAR(36) NOT NULL,
    user_sub VARCHAR(200) NOT NULL,
    action VARCHAR(50) NOT NULL,
    case_id CHAR(36) NULL,
    alert_id CHAR(36) NULL,
    object_ids JSON NOT NULL,
    reason VARCHAR(2000) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY ix_audit_case (case_id, id),
    KEY ix_audit_agency (agency_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
