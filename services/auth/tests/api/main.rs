mod currentuser;
mod helpers;
mod metrics;
mod signin;
mod signout;
mod signup;
mod startup;
