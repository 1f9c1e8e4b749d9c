//! The page's components: small functions taking signals, so each can be
//! mounted and tested on its own.

mod name_form;
mod online_list;
mod status;

pub use name_form::NameForm;
pub use online_list::OnlineList;
pub use status::{status_text, Status};
