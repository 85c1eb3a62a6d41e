//! `runtime::fs`'s path functions and directory listing, on every backend.

#[macro_use]
mod fs_common;

use std::collections::BTreeSet;
use std::io::ErrorKind;

use futures::{StreamExt, TryStreamExt};
use runtime::fs;

use fs_common::{TempDir, pattern};

on_every_fs_backend! {
    async fn contents_round_trip() {
        let dir = TempDir::new("fs-round-trip");
        let path = dir.join("data");
        let data = pattern(100_000, 1);
        fs::write(&path, &data).await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), data);
        // write truncates
        fs::write(&path, "short").await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "short");
        fs::write(&path, "").await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"");
    }

    async fn copy_rename_and_hard_link() {
        let dir = TempDir::new("fs-copy");
        let (a, b, c, d) = (dir.join("a"), dir.join("b"), dir.join("c"), dir.join("d"));
        fs::write(&a, "contents").await.unwrap();
        assert_eq!(fs::copy(&a, &b).await.unwrap(), 8);
        assert_eq!(fs::read(&b).await.unwrap(), b"contents");
        fs::rename(&b, &c).await.unwrap();
        assert_eq!(fs::metadata(&b).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(fs::read(&c).await.unwrap(), b"contents");
        fs::hard_link(&c, &d).await.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(fs::metadata(&d).await.unwrap().nlink(), 2);
        }
        // Operations on two paths name both.
        let missing = dir.join("missing");
        for e in [
            fs::copy(&missing, dir.join("x")).await.unwrap_err(),
            fs::rename(&missing, dir.join("x")).await.unwrap_err(),
            fs::hard_link(&missing, dir.join("x")).await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::NotFound);
            let message = e.to_string();
            assert!(message.contains(&*missing.to_string_lossy()), "{message}");
            assert!(message.contains(&*dir.join("x").to_string_lossy()), "{message}");
        }
        // Renaming onto an existing file replaces it.
        fs::write(&a, "new").await.unwrap();
        fs::rename(&a, &d).await.unwrap();
        assert_eq!(fs::read(&d).await.unwrap(), b"new");
    }

    async fn directories() {
        let dir = TempDir::new("fs-dirs");
        let nested = dir.join("a/b/c");
        assert_eq!(fs::create_dir(&nested).await.unwrap_err().kind(), ErrorKind::NotFound);
        fs::create_dir_all(&nested).await.unwrap();
        fs::create_dir_all(&nested).await.unwrap();
        assert!(fs::metadata(&nested).await.unwrap().is_dir());
        assert_eq!(fs::create_dir(&nested).await.unwrap_err().kind(), ErrorKind::AlreadyExists);
        fs::write(nested.join("f"), "x").await.unwrap();
        assert_eq!(fs::remove_dir(&nested).await.unwrap_err().kind(), ErrorKind::DirectoryNotEmpty);
        assert_eq!(fs::remove_file(&nested).await.unwrap_err().kind(), ErrorKind::IsADirectory);
        fs::remove_file(nested.join("f")).await.unwrap();
        assert_eq!(fs::remove_file(nested.join("f")).await.unwrap_err().kind(), ErrorKind::NotFound);
        fs::remove_dir(&nested).await.unwrap();
        fs::create_dir(&nested).await.unwrap();
        fs::remove_dir_all(dir.join("a")).await.unwrap();
        assert_eq!(fs::metadata(dir.join("a")).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(fs::remove_dir_all(dir.join("a")).await.unwrap_err().kind(), ErrorKind::NotFound);
    }

    async fn metadata_links_and_canonical_paths() {
        let dir = TempDir::new("fs-metadata");
        let file = dir.join("file");
        fs::write(&file, pattern(1234, 2)).await.unwrap();
        let metadata = fs::metadata(&file).await.unwrap();
        assert!(metadata.is_file());
        assert_eq!(metadata.len(), 1234);
        assert!(fs::metadata(dir.path()).await.unwrap().is_dir());
        #[cfg(unix)]
        {
            let link = dir.join("link");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert!(fs::metadata(&link).await.unwrap().is_file());
            assert!(fs::symlink_metadata(&link).await.unwrap().file_type().is_symlink());
            assert_eq!(fs::read_link(&link).await.unwrap(), file);
            assert_eq!(fs::read_link(&file).await.unwrap_err().kind(), ErrorKind::InvalidInput);
            assert_eq!(fs::canonicalize(&link).await.unwrap(), std::fs::canonicalize(&file).unwrap());
        }
        let dotted = dir.path().join(".").join("file");
        assert_eq!(fs::canonicalize(&dotted).await.unwrap(), std::fs::canonicalize(&file).unwrap());
        assert_eq!(fs::canonicalize(dir.join("nope")).await.unwrap_err().kind(), ErrorKind::NotFound);
    }

    async fn permissions() {
        let dir = TempDir::new("fs-permissions");
        let file = dir.join("file");
        fs::write(&file, "x").await.unwrap();
        let mut perm = fs::metadata(&file).await.unwrap().permissions();
        assert!(!perm.readonly());
        perm.set_readonly(true);
        fs::set_permissions(&file, perm.clone()).await.unwrap();
        assert!(fs::metadata(&file).await.unwrap().permissions().readonly());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).await.unwrap();
            assert_eq!(fs::metadata(&file).await.unwrap().permissions().mode() & 0o777, 0o640);
        }
        let e = fs::set_permissions(dir.join("nope"), perm).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    async fn read_dir_is_a_stream_of_every_entry() {
        let dir = TempDir::new("fs-read-dir");
        // More than one batch of the blocking reader.
        let mut expected = BTreeSet::new();
        for i in 0..150 {
            let name = format!("file-{i:03}");
            fs::write(dir.join(&name), [i as u8]).await.unwrap();
            expected.insert(name);
        }
        fs::create_dir(dir.join("sub")).await.unwrap();
        expected.insert("sub".to_owned());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("sub"), dir.join("link")).unwrap();
            expected.insert("link".to_owned());
        }
        let entries: Vec<fs::DirEntry> = fs::read_dir(dir.path()).await.unwrap().try_collect().await.unwrap();
        let names: BTreeSet<String> = entries.iter().map(|e| e.file_name().into_string().unwrap()).collect();
        assert_eq!(names, expected);
        assert_eq!(entries.len(), expected.len(), "no entry twice");
        for entry in &entries {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), dir.join(&name));
            let kind = entry.file_type().await.unwrap();
            let metadata = entry.metadata().await.unwrap();
            match name.as_str() {
                "sub" => assert!(kind.is_dir() && metadata.is_dir()),
                // DirEntry::metadata does not follow symlinks.
                "link" => assert!(kind.is_symlink() && metadata.file_type().is_symlink()),
                _ => assert!(kind.is_file() && metadata.is_file() && metadata.len() == 1),
            }
        }
        // The stream ends, and stays ended.
        let mut listing = fs::read_dir(dir.join("sub")).await.unwrap();
        assert!(listing.next().await.is_none());
        assert!(listing.next().await.is_none());
    }

    async fn path_errors_keep_the_kind_and_name_the_path() {
        let dir = TempDir::new("fs-errors");
        let missing = dir.join("nope");
        let errors = [
            fs::read(&missing).await.unwrap_err(),
            fs::read_to_string(&missing).await.unwrap_err(),
            fs::metadata(&missing).await.unwrap_err(),
            fs::symlink_metadata(&missing).await.unwrap_err(),
            fs::remove_file(&missing).await.unwrap_err(),
            fs::remove_dir(&missing).await.unwrap_err(),
            fs::read_dir(&missing).await.unwrap_err(),
            fs::File::open(&missing).await.unwrap_err(),
            fs::write(missing.join("below"), "x").await.unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
            let message = e.to_string();
            assert!(message.starts_with("No such file or directory (os error 2): "), "{message}");
            assert!(message.contains(&*missing.to_string_lossy()), "{message}");
            // The OS's error is the source.
            let source = std::error::Error::source(&e).expect("the OS's error as source");
            assert_eq!(source.to_string(), "No such file or directory (os error 2)");
        }
    }

    async fn a_directory_where_a_file_is_expected() {
        let dir = TempDir::new("fs-dir-as-file");
        let e = fs::read(dir.path()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IsADirectory, "{e}");
        assert!(e.to_string().contains(&*dir.path().to_string_lossy()), "{e}");
        assert_eq!(fs::write(dir.path(), "x").await.unwrap_err().kind(), ErrorKind::IsADirectory);
        assert_eq!(fs::File::create(dir.path()).await.unwrap_err().kind(), ErrorKind::IsADirectory);
        // Opening a directory read-only works on Linux; reading it does not.
        if let Ok(mut file) = fs::File::open(dir.path()).await {
            use futures::io::AsyncReadExt;
            let mut buf = [0; 8];
            let e = file.read(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::IsADirectory);
            assert!(e.to_string().contains(&*dir.path().to_string_lossy()), "{e}");
            assert_eq!(file.read_at(&mut buf, 0).await.unwrap_err().kind(), ErrorKind::IsADirectory);
        }
        // A file where a directory is expected.
        fs::write(dir.join("file"), "x").await.unwrap();
        assert_eq!(fs::read_dir(dir.join("file")).await.unwrap_err().kind(), ErrorKind::NotADirectory);
        assert_eq!(fs::read(dir.join("file/below")).await.unwrap_err().kind(), ErrorKind::NotADirectory);
    }

    async fn invalid_utf8_is_invalid_data() {
        let dir = TempDir::new("fs-utf8");
        let path = dir.join("latin1");
        fs::write(&path, b"caf\xe9").await.unwrap();
        let e = fs::read_to_string(&path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
        assert_eq!(fs::read(&path).await.unwrap(), b"caf\xe9");
    }

    async fn a_nul_byte_is_std_s_invalid_input() {
        let e = fs::read("/tmp/nul\0byte").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(fs::File::open("nul\0").await.unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(fs::create_dir("nul\0").await.unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
