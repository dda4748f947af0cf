-- The sample schema that seed applies to non-production databases.
-- Every statement is idempotent: seed runs this file on every invocation.
-- Changing this file changes the schema version, which makes the infra
-- program re-invoke the seed job in every non-production environment.

CREATE SCHEMA IF NOT EXISTS sample;

CREATE TABLE IF NOT EXISTS sample.customers (
    id         integer     PRIMARY KEY,
    name       text        NOT NULL,
    email      text        NOT NULL UNIQUE,
    city       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS sample.products (
    id          integer PRIMARY KEY,
    sku         text    NOT NULL UNIQUE,
    name        text    NOT NULL,
    category    text    NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents > 0)
);

CREATE TABLE IF NOT EXISTS sample.orders (
    id          integer     PRIMARY KEY,
    customer_id integer     NOT NULL REFERENCES sample.customers (id),
    status      text        NOT NULL CHECK (status IN ('placed', 'shipped', 'delivered', 'cancelled')),
    placed_at   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS sample.order_items (
    order_id         integer NOT NULL REFERENCES sample.orders (id) ON DELETE CASCADE,
    line             integer NOT NULL,
    product_id       integer NOT NULL REFERENCES sample.products (id),
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents integer NOT NULL CHECK (unit_price_cents > 0),
    PRIMARY KEY (order_id, line)
);

CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON sample.orders (customer_id);
CREATE INDEX IF NOT EXISTS order_items_product_id_idx ON sample.order_items (product_id);

CREATE TABLE IF NOT EXISTS sample.seed_info (
    key   text PRIMARY KEY,
    value text NOT NULL
);
