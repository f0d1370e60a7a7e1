import Foundation

/// The iOS data-protection class of a store's files (decision 0023).
///
/// Background sync (a `BGAppRefreshTask`, a silent push) runs while the phone may be locked.
/// A file of class `complete` cannot be opened then, and SQLite reports `SQLITE_IOERR`; the
/// class `completeUntilFirstUserAuthentication` (iOS's default for app files) keeps a file
/// encrypted until the first unlock after boot and readable afterwards, locked or not. An
/// app whose entitlement (`com.apple.developer.default-data-protection`) raises the default to
/// `complete` would break background sync, so the store's files are set to that class
/// explicitly, never `complete`:
///
/// - before opening, a missing folder for the store (or for the marker) is created with the
///   class, so the files SQLite creates in it later inherit it (`-wal` and `-shm` are deleted
///   when the last connection closes and created again at the next open, possibly while
///   locked); an existing folder keeps its class (it may be the app's Documents): give the
///   store a folder of its own, as the READMEs say;
/// - after opening, the database, `-wal`, `-shm` and the device marker get the class too,
///   replacing `complete` or `completeUnlessOpen` (a weaker `none` the app chose stays).
///
/// Elsewhere (macOS, Linux) there is no such class and both steps do nothing (a missing folder
/// is then an error from `Store.init`, as in Kotlin).
enum FileProtection {
    static func prepare(store: String, deviceMarker: String?) throws {
        #if os(iOS) || os(watchOS) || os(tvOS) || os(visionOS)
        let folder = URL(fileURLWithPath: store).deletingLastPathComponent()
        try createFolder(folder)
        if let deviceMarker {
            try createFolder(URL(fileURLWithPath: deviceMarker).deletingLastPathComponent())
        }
        #endif
    }

    static func apply(store: String, deviceMarker: String?) throws {
        #if os(iOS) || os(watchOS) || os(tvOS) || os(visionOS)
        let marker = deviceMarker ?? store + ".device"
        for path in [store, store + "-wal", store + "-shm", marker]
        where FileManager.default.fileExists(atPath: path) {
            do {
                try protect(path)
            } catch {
                throw AlmanacError.storage(
                    "cannot set the file protection of \(path): \(error.localizedDescription)")
            }
        }
        #endif
    }

    #if os(iOS) || os(watchOS) || os(tvOS) || os(visionOS)
    private static func createFolder(_ folder: URL) throws {
        do {
            // An existing folder keeps its class: it may be the app's Documents, whose class
            // is the app's choice. The README says to give the store a folder of its own.
            if !FileManager.default.fileExists(atPath: folder.path) {
                try FileManager.default.createDirectory(
                    at: folder, withIntermediateDirectories: true,
                    attributes: [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication])
            }
        } catch {
            throw AlmanacError.storage("cannot prepare the folder \(folder.path): \(error.localizedDescription)")
        }
    }

    private static func protect(_ path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        // Leave a weaker class (`none`) the app chose on purpose; replace only a stronger one.
        let current = attributes[.protectionKey] as? FileProtectionType
        if current == .complete || current == .completeUnlessOpen || current == nil {
            try FileManager.default.setAttributes(
                [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication],
                ofItemAtPath: path)
        }
    }
    #endif
}
