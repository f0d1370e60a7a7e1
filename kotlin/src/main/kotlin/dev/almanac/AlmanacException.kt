package dev.almanac

import dev.almanac.ffi.AlmanacException as FfiAlmanacException
import dev.almanac.ffi.InternalException as FfiPanic

/**
 * Everything the Almanac API throws, by kind; [message] says what happened and what to do.
 * The generated FFI exception is the [cause].
 */
sealed class AlmanacException(message: String, cause: Throwable?) : Exception(message, cause) {
    /** The database file could not be read or written (I/O, locking, disk full…). */
    class Storage(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The database or a received change is damaged, or the file is not an Almanac store. */
    class Corrupt(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The data was written by a newer version of Almanac: update the app. */
    class IncompatibleVersion(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** An argument was rejected: unknown time zone, end before start, invalid rule, over-long id… */
    class InvalidInput(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The record was deleted; restore it before editing it. */
    class RecordDeleted(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** No such event, calendar or conflict. */
    class NotFound(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The store was closed. */
    class Closed(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The sync server refused the token: sign in again and call [Store.setSyncToken]. */
    class Unauthorized(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The sync server refused a sharing change: only a calendar's owner can share it. */
    class Forbidden(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** The sync server could not be reached or the connection broke; retrying later can help. */
    class Network(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** Sync cannot work as configured (certificate, protocol); retrying the same cannot help. */
    class Sync(message: String, cause: Throwable? = null) : AlmanacException(message, cause)

    /** A bug inside Almanac (including a caught Rust panic); please report the message. */
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
        is FfiAlmanacException.NotFound -> AlmanacException.NotFound(text, this)
        is FfiAlmanacException.Closed -> AlmanacException.Closed(text, this)
        is FfiAlmanacException.Unauthorized -> AlmanacException.Unauthorized(text, this)
        is FfiAlmanacException.Forbidden -> AlmanacException.Forbidden(text, this)
        is FfiAlmanacException.Network -> AlmanacException.Network(text, this)
        is FfiAlmanacException.Sync -> AlmanacException.Sync(text, this)
        is FfiAlmanacException.Internal -> AlmanacException.Internal(text, this)
    }
}
