DROP TABLE chat_outbox;
DROP TABLE chat_connect_links;
DROP TABLE chat_seen;
DROP TABLE chat_channels;
DROP TABLE chat_users;
