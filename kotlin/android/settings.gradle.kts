// Android build of the Almanac Kotlin library (the AAR). Not run on the Linux CI machine: it needs
// the Android SDK, an NDK, cargo-ndk and Gradle. Use ../scripts/build-aar.sh, which checks for them.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "almanac"
