package dev.almanac

import dev.almanac.ffi.FieldValue

/**
 * The value of one field of a record.
 *
 * Mirrors the Rust core's field values: `Null`, `Bool`, 64-bit `Integer`, 64-bit floating-point
 * `Real`, `Text` and `Bytes`.
 */
sealed interface Value {
    /** An explicit null (distinct from an absent field). */
    data object Null : Value

    /** A boolean. */
    data class Bool(val value: Boolean) : Value

    /** A signed 64-bit integer. */
    data class Integer(val value: Long) : Value

    /** A 64-bit floating-point number. */
    data class Real(val value: Double) : Value

    /** A UTF-8 string. */
    data class Text(val value: String) : Value

    /** Opaque bytes; compared by content. */
    class Bytes(value: ByteArray) : Value {
        private val bytes: ByteArray = value.copyOf()

        /** A copy of the bytes. */
        val value: ByteArray get() = bytes.copyOf()

        override fun equals(other: Any?): Boolean = other is Bytes && bytes.contentEquals(other.bytes)

        override fun hashCode(): Int = bytes.contentHashCode()

        override fun toString(): String = "Bytes(size=${bytes.size})"

        internal fun unsafeBytes(): ByteArray = bytes
    }

    companion object {
        /** `Value.of("x")`, `Value.of(42)`, `Value.of(null)`…: the value of a plain Kotlin one. */
        fun of(value: Any?): Value = when (value) {
            null -> Null
            is Value -> value
            is Boolean -> Bool(value)
            is Long -> Integer(value)
            is Int -> Integer(value.toLong())
            is Short -> Integer(value.toLong())
            is Byte -> Integer(value.toLong())
            is Double -> Real(value)
            is Float -> Real(value.toDouble())
            is String -> Text(value)
            is ByteArray -> Bytes(value)
            else -> throw IllegalArgumentException("no Almanac value for ${value::class.qualifiedName}")
        }
    }
}

internal fun Value.toFfi(): FieldValue = when (this) {
    Value.Null -> FieldValue.Null
    is Value.Bool -> FieldValue.Bool(value)
    is Value.Integer -> FieldValue.Int(value)
    is Value.Real -> FieldValue.Float(value)
    is Value.Text -> FieldValue.Text(value)
    is Value.Bytes -> FieldValue.Bytes(unsafeBytes().copyOf())
}

internal fun FieldValue.toValue(): Value = when (this) {
    FieldValue.Null -> Value.Null
    is FieldValue.Bool -> Value.Bool(value)
    is FieldValue.Int -> Value.Integer(value)
    is FieldValue.Float -> Value.Real(value)
    is FieldValue.Text -> Value.Text(value)
    is FieldValue.Bytes -> Value.Bytes(value)
}
