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
        // rustls-platform-verifier's Kotlin half (build.gradle.kts), published by the rustls
        // project as a Maven repository on GitHub.
        maven {
            url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/")
        }
    }
}

rootProject.name = "almanac"
