//! The sync server end to end: a real server on a free port, real WebSocket connections, and
//! core sessions as the devices.
