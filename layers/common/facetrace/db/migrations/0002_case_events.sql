-- Case status changes, in order: warm match functions read the ones they have not seen yet,
-- so a closed case leaves every in-memory gallery before the next search.
-- depends: 0001_initial

CREATE TABLE case_events (
    seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    case_id CHAR(36) NOT NULL,
    status ENUM('open', 'closed') NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT fk_case_events_case FOREIGN KEY (case_id) REFERENCES cases (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
