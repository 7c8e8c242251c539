//! The users collection: accounts stored with their argon2id password hashes.

use common::bson::{doc, oid::ObjectId};
use common::metrics::{self, counter};
use common::mongo::{CollectionSchema, ResultExt, unique_index};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, AuthResult};
use crate::models::user::{Credentials, User};
use crate::password_hashing::PasswordHashing;

#[derive(Serialize, Deserialize)]
struct UserDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    email: String,
    /// argon2id PHC string.
    password: String,
}

/// The users collection.
#[derive(Clone)]
pub struct Users {
    collection: Collection<UserDocument>,
    hashing: PasswordHashing,
}

impl Users {
    pub const COLLECTION: &'static str = "users";

    /// The collection; its unique email index is what makes concurrent sign-ups safe.
    pub fn schema() -> CollectionSchema {
        CollectionSchema::new(Self::COLLECTION).index(unique_index(
            doc! { "email": 1 },
            "email_unique",
            false,
        ))
    }

    pub fn new(db: &Database, hashing: PasswordHashing) -> Self {
        Self {
            collection: db.collection(Self::COLLECTION),
            hashing,
        }
    }

    pub async fn create(&self, credentials: Credentials) -> AuthResult<User> {
        let hashed = self
            .hashing
            .hash(credentials.password.into_string())
            .await?;
        let document = UserDocument {
            id: ObjectId::new(),
            email: credentials.email.into_string(),
            password: hashed,
        };
        self.collection
            .insert_one(&document)
            .await
            .on_duplicate_key(|| AuthError::EmailInUse)?;
        counter!(metrics::SIGNUPS).increment(1);
        Ok(User {
            id: document.id,
            email: document.email,
        })
    }

    /// The user whose email and password match; one answer for every mismatch.
    pub async fn authenticate(&self, credentials: Credentials) -> AuthResult<User> {
        let found = self
            .collection
            .find_one(doc! { "email": credentials.email.as_str() })
            .await?;
        let stored_hash = found.as_ref().map(|user| user.password.clone());
        let matches = self
            .hashing
            .verify(credentials.password.into_string(), stored_hash)
            .await?;
        match found {
            Some(user) if matches => Ok(User {
                id: user.id,
                email: user.email,
            }),
            _ => {
                counter!(metrics::SIGNINS_FAILED).increment(1);
                Err(AuthError::InvalidCredentials)
            }
        }
    }
}
