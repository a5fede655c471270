-- FaceTrace initial schema: agencies, cases, photos, faces, matches, alerts, deliveries, audit.
-- Runs on MySQL 8 (RDS) and MariaDB 10.6+ (local).

CREATE TABLE agencies (
    id CHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    email VARCHAR(254) NOT NULL,
    phone VARCHAR(32) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE cases (
    id CHAR(36) NOT NULL PRIMARY KEY,
    agency_id CHAR(36) NOT NULL,
    person_name VARCHAR(200) NOT NULL,
    age SMALLINT NULL,
    sex VARCHAR(16) NULL,
    last_seen_place VARCHAR(300) NULL,
    last_seen_at DATETIME(6) NULL,
    notes TEXT NULL,
    status ENUM('open', 'closed') NOT NULL DEFAULT 'open',
    created_at DATETIME(6) NOT NULL,
    closed_at DATETIME(6) NULL,
    CONSTRAINT fk_cases_agency FOREIGN KEY (agency_id) REFERENCES agencies (id),
    KEY ix_cases_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE photos (
    id CHAR(36) NOT NULL PRIMARY KEY,
    kind ENUM('sighting', 'reference') NOT NULL,
    case_id CHAR(36) NULL,
    s3_key VARCHAR(300) NOT NULL,
    status ENUM('received', 'processed', 'rejected', 'failed') NOT NULL,
    reason VARCHAR(1000) NULL,
    content_type VARCHAR(100) NULL,
    size_bytes BIGINT NULL,
    width INT NULL,
    height INT NULL,
    face_count INT NULL,
    taken_at DATETIME(6) NULL,
    place VARCHAR(300) NULL,
    lat DOUBLE NULL,
    lon DOUBLE NULL,
    contact VARCHAR(300) NULL,
    job_sent_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT fk_photos_case FOREIGN KEY (case_id) REFERENCES cases (id),
    KEY ix_photos_status (status, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per detected face; embeddings are little-endian float32 with their model and dimension.
CREATE TABLE faces (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    photo_id CHAR(36) NOT NULL,
    face_index INT NOT NULL,
    model_name VARCHAR(100) NOT NULL,
    model_version VARCHAR(50) NOT NULL,
    dim SMALLINT NOT NULL,
    embedding VARBINARY(8192) NOT NULL,
    box_x1 FLOAT NOT NULL,
    box_y1 FLOAT NOT NULL,
    box_x2 FLOAT NOT NULL,
    box_y2 FLOAT NOT NULL,
    landmarks JSON NOT NULL,
    det_score FLOAT NOT NULL,
    quality JSON NOT NULL,
    usable TINYINT(1) NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT fk_faces_photo FOREIGN KEY (photo_id) REFERENCES photos (id) ON DELETE CASCADE,
    UNIQUE KEY ux_faces_photo_model_index (photo_id, model_name, face_index),
    KEY ix_faces_model (model_name, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Every gallery candidate above the match threshold for a sighting face.
CREATE TABLE matches (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sighting_face_id BIGINT NOT NULL,
    reference_face_id BIGINT NOT NULL,
    case_id CHAR(36) NOT NULL,
    score FLOAT NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT fk_matches_sighting FOREIGN KEY (sighting_face_id) REFERENCES faces (id) ON DELETE CASCADE,
    CONSTRAINT fk_matches_reference FOREIGN KEY (reference_face_id) REFERENCES faces (id) ON DELETE CASCADE,
    CONSTRAINT fk_matches_case FOREIGN KEY (case_id) REFERENCES cases (id),
    UNIQUE KEY ux_matches_pair (sighting_face_id, reference_face_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A candidate sighting for human review; one per (sighting, case) so a photo never alerts a case twice.
CREATE TABLE alerts (
    id CHAR(36) NOT NULL PRIMARY KEY,
    case_id CHAR(36) NOT NULL,
    sighting_id CHAR(36) NOT NULL,
    sighting_face_id BIGINT NOT NULL,
    reference_face_id BIGINT NOT NULL,
    score FLOAT NOT NULL,
    model_name VARCHAR(100) NOT NULL,
    status ENUM('new', 'confirmed', 'rejected') NOT NULL DEFAULT 'new',
    created_at DATETIME(6) NOT NULL,
    published_at DATETIME(6) NULL,
    CONSTRAINT fk_alerts_case FOREIGN KEY (case_id) REFERENCES cases (id),
    CONSTRAINT fk_alerts_sighting FOREIGN KEY (sighting_id) REFERENCES photos (id),
    UNIQUE KEY ux_alerts_sighting_case (sighting_id, case_id),
    KEY ix_alerts_status (status, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Each attempt to tell an agency about an alert, per channel and recipient.
CREATE TABLE deliveries (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    alert_id CHAR(36) NOT NULL,
    channel ENUM('email', 'sms') NOT NULL,
    recipient VARCHAR(300) NOT NULL,
    status ENUM('sent', 'failed') NOT NULL,
    provider_id VARCHAR(200) NULL,
    error VARCHAR(1000) NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT fk_deliveries_alert FOREIGN KEY (alert_id) REFERENCES alerts (id),
    UNIQUE KEY ux_deliveries_once (alert_id, channel, recipient)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
