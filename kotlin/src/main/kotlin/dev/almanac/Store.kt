package dev.almanac

import dev.almanac.ffi.AlmanacStore
import java.nio.file.Path

/**
 * One replica of an Almanac database, stored in a single SQLite file.
 *
 * Thread-safe. Call [close] (or use `use { }`) when done; the native handle is otherwise
 * released only when the object is garbage-collected.
 */
class Store private constructor(private val ffi: AlmanacStore) : AutoCloseable {
    /** Opens the database at [path], creating the file if it does not exist. */
    constructor(path: Path) : this(ffiCall { AlmanacStore.open(path.toString()) })

    /** This replica's identifier (32 hex characters), stable for the life of the file. */
    val replicaId: String by lazy { ffiCall { ffi.replicaId() } }

    /** Writes [fields] into record [id] of [collection] in one transaction, creating it if needed. */
    fun put(collection: String, id: String, fields: Map<String, Value>) {
        val lowered = fields.mapValues { (_, value) -> value.toFfi() }
        ffiCall { ffi.put(collection, id, lowered) }
    }

    /** `put("events", "e1", "title" to Value.Text("Standup"))`. */
    fun put(collection: String, id: String, vararg fields: Pair<String, Value>) {
        put(collection, id, fields.toMap())
    }

    /** The current state of record [id] of [collection], or `null` if absent or deleted. */
    fun record(collection: String, id: String): Record? = ffiCall { ffi.get(collection, id) }?.toRecord()

    /** Deletes record [id] of [collection]. */
    fun delete(collection: String, id: String) {
        ffiCall { ffi.delete(collection, id) }
    }

    /** Exchanges changes with [other] in both directions; afterwards both hold the same state. */
    fun sync(other: Store) {
        ffiCall { ffi.syncWith(other.ffi) }
    }

    /** Releases the native store. Further calls on this object throw [IllegalStateException]. */
    override fun close() {
        ffi.close()
    }
}
