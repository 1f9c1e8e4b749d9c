//! The page's components: small functions taking signals, so each can be
//! mounted and tested on its own.

mod name_form;
mod online_list;
mod status;
mod wave_notice;

pub use name_form::NameForm;
pub use online_list::OnlineList;
pub use status::{status_text, Status};
pub use wave_notice::WaveNotice;
