//! The transition table: which action is possible in which state and where it leads,
//! which kinds of actor may take it, and what a refusal says.

use super::action::ActionKind;
use super::actor::ActorKind;
use super::state::CaseState;

/// Where an allowed action leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// To this state.
    To(CaseState),
    /// The state does not change (a note, a rating after the follow-up).
    Same,
    /// Back to the state before the invalidation request.
    Previous,
    /// Decided by the citizen's verdict: accepted → followed up (or unchanged after an
    /// earlier follow-up), not resolved or unsatisfied → reopened.
    Verdict,
}

/// States in which a handler holds the case and has not resolved it.
fn handling(state: CaseState) -> bool {
    use CaseState::*;
    matches!(
        state,
        Assigned | Acknowledged | InProgress | Transferred | Escalated | Reopened
    )
}

/// States in which the case waits for a handler to call the citizen.
fn awaiting_contact(state: CaseState) -> bool {
    use CaseState::*;
    matches!(state, Assigned | Transferred | Escalated | Reopened)
}

/// Where `action` leads from `state`, or `None` when it is not allowed there.
pub fn next(state: CaseState, action: ActionKind) -> Option<Next> {
    use ActionKind as A;
    use CaseState::*;
    let unassigned = matches!(state, Created | Returned);
    let allowed = match action {
        A::Assign | A::Dispatch if unassigned => Next::To(Assigned),
        A::Acknowledge if awaiting_contact(state) => Next::To(Acknowledged),
        A::Start if state == Acknowledged => Next::To(InProgress),
        A::Pause if state == InProgress => Next::To(WaitingOnCitizen),
        A::Resume if state == WaitingOnCitizen => Next::To(InProgress),
        A::Resolve if matches!(state, Acknowledged | InProgress) => Next::To(Resolved),
        A::Return if handling(state) => Next::To(Returned),
        A::Transfer if handling(state) => Next::To(Transferred),
        A::Escalate if handling(state) || unassigned => Next::To(Escalated),
        A::RequestInvalid if handling(state) || unassigned => Next::To(InvalidRequested),
        A::ApproveInvalid if state == InvalidRequested => Next::To(Invalid),
        A::RejectInvalid if state == InvalidRequested => Next::Previous,
        A::FollowUp if state == Resolved => Next::Verdict,
        A::Rate if matches!(state, Resolved | FollowedUp | Closed) => Next::Verdict,
        A::Reopen if matches!(state, Resolved | FollowedUp | Closed) => Next::To(Reopened),
        A::Close if state == FollowedUp => Next::To(Closed),
        A::Note => Next::Same,
        _ => return None,
    };
    Some(allowed)
}

/// Whether a kind of actor may take an action at all.
pub fn actor_may(actor: ActorKind, action: ActionKind) -> bool {
    use ActionKind as A;
    match action {
        A::Rate => actor == ActorKind::Citizen,
        A::Assign | A::Escalate | A::Close | A::Note => {
            matches!(actor, ActorKind::Staff | ActorKind::System)
        }
        _ => actor == ActorKind::Staff,
    }
}

/// Why a kind of actor may not take an action: (Chinese, English).
pub fn actor_refusal(action: ActionKind) -> (&'static str, &'static str) {
    match action {
        ActionKind::Rate => ("评价只能由群众本人提交", "only the citizen can rate"),
        _ => ("此操作只能由工作人员执行", "only staff can do this"),
    }
}

/// Why `action` is not possible in `state`: (Chinese, English).
pub fn refusal(state: CaseState, action: ActionKind) -> (&'static str, &'static str) {
    use ActionKind as A;
    use CaseState::*;
    match (state, action) {
        (Invalid, _) => (
            "案件已判定为无效事件，不能再办理",
            "the case was judged invalid; nothing more can be done",
        ),
        (InvalidRequested, _) => (
            "无效申请正在审核，请先批准或驳回",
            "an invalidation request awaits a decision; approve or reject it first",
        ),
        (WaitingOnCitizen, _) => (
            "正在等待群众（计时暂停），请先恢复办理",
            "the case waits on the citizen with its clock paused; resume first",
        ),
        (_, A::ApproveInvalid | A::RejectInvalid) => (
            "没有待审核的无效申请",
            "there is no invalidation request to decide",
        ),
        (_, A::Resume) => ("计时没有暂停", "the clock is not paused"),
        (_, A::Assign | A::Dispatch) => (
            "案件已有办理人，如需更换请改派",
            "the case already has a handler; transfer it instead",
        ),
        (Created | Returned, _) => ("案件尚未派单", "the case has no handler yet"),
        (Closed, A::Close) => ("案件已关闭", "the case is already closed"),
        (Resolved, A::Close) => (
            "只有回访后的案件可以关闭",
            "a case is closed only after its follow-up",
        ),
        (FollowedUp | Closed, A::FollowUp) => {
            ("案件已回访", "the case has already been followed up")
        }
        (Resolved | FollowedUp | Closed, _) => (
            "案件已办结，如需继续办理请重办",
            "the case is resolved; reopen it to work on it again",
        ),
        (_, A::Start | A::Resolve) if awaiting_contact(state) => (
            "请先联系群众（首次响应）",
            "contact the citizen first (first response)",
        ),
        (_, A::Acknowledge) => (
            "已联系过群众，无需再次响应",
            "the citizen has already been contacted",
        ),
        (_, A::Start) => ("案件已在办理中", "the case is already in progress"),
        (_, A::Pause) => (
            "只有办理中的案件可以等待群众",
            "only a case in progress can wait on the citizen",
        ),
        (_, A::FollowUp | A::Rate) => (
            "案件尚未办结，不能回访或评价",
            "the case is not resolved yet; there is nothing to follow up",
        ),
        (_, A::Reopen) => (
            "只有已办结的案件可以重办",
            "only a resolved case can be reopened",
        ),
        (_, A::Close) => (
            "只有回访后的案件可以关闭",
            "a case is closed only after its follow-up",
        ),
        _ => (
            "当前状态不允许此操作",
            "this action is not allowed in the current state",
        ),
    }
}
