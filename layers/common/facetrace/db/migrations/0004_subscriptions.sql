-- Issue #6: who receives an agency's alerts, per case or for all its cases, anywhere or in a region.
-- depends: 0003_review_audit

-- case_id NULL: every case of the agency. region NULL: anywhere; else text that the sighting's place
-- must contain (case-insensitive). An agency without a matching subscription is e-mailed itself.
CREATE TABLE subscriptions (
    id CHAR(36) NOT NULL PRIMARY KEY,
    agency_id CHAR(36) NOT NULL,
    case_id CHAR(36) NULL,
    region VARCHAR(200) NULL,
    channel ENUM('email', 'sms') NOT NULL,
    address VARCHAR(254) NOT NULL,
    created_by_user VARCHAR(200) NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT fk_subscriptions_agency FOREIGN KEY (agency_id) REFERENCES agencies (id),
    CONSTRAINT fk_subscriptions_case FOREIGN KEY (case_id) REFERENCES cases (id),
    KEY ix_subscriptions_agency (agency_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
