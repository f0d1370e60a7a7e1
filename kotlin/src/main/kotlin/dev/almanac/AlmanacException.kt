package dev.almanac

import dev.almanac.ffi.AlmanacException as FfiAlmanacException
import dev.almanac.ffi.InternalException as FfiPanic

/** Everything the Almanac API throws, by kind. The generated FFI exception is the [cause]. */
sealed class AlmanacException(message: String, cause: Throwable?) : Exception(message, cause) {
    /** The database file could not be read or written (I/O, locking, disk full…). */
    class Storage(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The database or a received change is damaged. */
    class Corrupt(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The data was written by an incompatible version of Almanac. */
    class IncompatibleVersion(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** An argument was rejected (empty name, bad identifier…). */
    class InvalidInput(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The record was deleted. */
    class RecordDeleted(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** A bug inside Almanac (including a caught Rust panic). */
    class Internal(message: String, cause: Throwable? = null) : AlmanacException(message, cause)
}

/** Runs an FFI call, turning the generated exceptions into [AlmanacException]s. */
internal inline fun <T> ffiCall(block: () -> T): T = try {
    block()
} catch (e: FfiAlmanacException) {
    throw e.toAlmanacException()
} catch (e: FfiPanic) {
    throw AlmanacException.Internal(e.message ?: "Rust panic", e)
}

internal fun FfiAlmanacException.toAlmanacException(): AlmanacException {
    val text = message.orEmpty()
    return when (this) {
        is FfiAlmanacException.Storage -> AlmanacException.Storage(text, this)
        is FfiAlmanacException.Corrupt -> AlmanacException.Corrupt(text, this)
        is FfiAlmanacException.IncompatibleVersion -> AlmanacException.IncompatibleVersion(text, this)
        is FfiAlmanacException.InvalidInput -> AlmanacException.InvalidInput(text, this)
        is FfiAlmanacException.RecordDeleted -> AlmanacException.RecordDeleted(text, this)
        is FfiAlmanacException.Internal -> AlmanacException.Internal(text, this)
    }
}
