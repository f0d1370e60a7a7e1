package dev.almanac

import dev.almanac.ffi.RecordSnapshot

/**
 * One field of a [Record]: the value every replica agrees on, plus the concurrent values that
 * lost the deterministic tie-break (empty when there was no conflict).
 */
data class Field(val value: Value, val conflicts: List<Value> = emptyList()) {
    /** Whether concurrent writes to this field were merged. */
    val hasConflicts: Boolean get() = conflicts.isNotEmpty()
}

/** A snapshot of one live record; [fields] iterate in name order. */
data class Record(
    val collection: String,
    val id: String,
    val fields: Map<String, Field>,
) {
    /** The value of field [name], or `null` if the record has no such field. */
    operator fun get(name: String): Value? = fields[name]?.value

    /** The losing concurrent values of field [name] (empty if none, or no such field). */
    fun conflicts(name: String): List<Value> = fields[name]?.conflicts.orEmpty()
}

internal fun RecordSnapshot.toRecord(): Record = Record(
    collection = collection,
    id = id,
    fields = fields.associateTo(LinkedHashMap()) { field ->
        field.name to Field(field.value.toValue(), field.conflicts.map { it.toValue() })
    },
)
