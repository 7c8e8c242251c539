mod currentuser;
mod helpers;
mod limits;
mod metrics;
mod signin;
mod signout;
mod signup;
mod startup;
